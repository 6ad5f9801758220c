package io.sluice.client;

/**
 * A snapshot of a {@link SluiceProducer}'s counters. Immutable.
 *
 * @param sent distinct events written to a stream at least once
 * @param acked events the ingest acknowledged (and the producer released)
 * @param resent writes of events that had been written before, after a reconnect
 * @param reconnects streams opened after the first one
 * @param duplicatesDroppedByServer repeats the ingest reported dropping, summed over every stream
 * @param lastSequence the sequence of the last event given to {@code send}; {@code
 *     firstSequence − 1} before the first
 * @param ackedThroughSequence the highest acknowledged sequence
 * @param unacked events held, waiting for an acknowledgement
 * @param unackedBytes their serialized size
 * @param requestsWritten {@code PublishRequest} messages written, on every stream
 * @param waitingForReady whether the producer has a batch to write and waits for the stream to be
 *     ready (the ingest, or the pipeline behind it, is backpressuring)
 * @param connected whether a stream is open now
 * @param lastFailure the status that ended the last failed stream ({@code "UNAVAILABLE: …"}), or
 *     empty when none failed
 */
public record ProducerStats(
    long sent,
    long acked,
    long resent,
    long reconnects,
    long duplicatesDroppedByServer,
    long lastSequence,
    long ackedThroughSequence,
    int unacked,
    long unackedBytes,
    long requestsWritten,
    boolean waitingForReady,
    boolean connected,
    String lastFailure) {

  /** Whether the producer is between streams with events to deliver (after a failure). */
  public boolean reconnecting() {
    return !connected && unacked > 0 && !lastFailure.isEmpty();
  }
}
