package io.sluice.stages.sink;

/**
 * One pre-committed transaction of a file sink instance: the lines it received between two
 * barriers, made durable but not yet visible. Immutable.
 *
 * @param id the checkpoint whose barrier ended it ({@link CommitMarker#END_OF_INPUT} for the last
 *     one, ended by the end of the input)
 * @param pendingFile the name of the pending file that holds the lines, beside the target; null
 *     for the lines written straight to the target before the sink knew checkpoints were on (see
 *     {@link FileSinkOperator}), which are already in place
 * @param length the transaction's bytes
 */
record Transaction(long id, String pendingFile, long length) {
  Transaction {
    if (length < 0) {
      throw new IllegalArgumentException("a transaction's length is >= 0, got " + length);
    }
  }

  /** Lines already in the target, right after its committed part. */
  static Transaction inPlace(long id, long length) {
    return new Transaction(id, null, length);
  }

  boolean inPlace() {
    return pendingFile == null;
  }
}
