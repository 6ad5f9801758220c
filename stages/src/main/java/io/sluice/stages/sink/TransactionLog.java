package io.sluice.stages.sink;

import io.sluice.stages.internal.StateBytes;
import java.util.ArrayList;
import java.util.List;

/**
 * What a file sink instance writes at a checkpoint (operator-wide state): whose target it is, the
 * pre-committed transactions not yet committed, and the length the target has once they are.
 * Immutable.
 *
 * <p>Format 1, after the version byte: instance (int), length after (long), transaction count
 * (int), then per transaction: id (long), whether it is in place (boolean), the pending file's name
 * unless it is (modified UTF-8), length (long).
 *
 * @param instance the index of the instance that wrote it; its target is {@link
 *     FileSinkStageFactory#replicaPath} of it
 * @param lengthAfter the target's committed length once every listed transaction is committed
 * @param transactions oldest first
 */
record TransactionLog(int instance, long lengthAfter, List<Transaction> transactions) {
  private static final int VERSION = 1;

  TransactionLog {
    transactions = List.copyOf(transactions);
  }

  byte[] encode() {
    return StateBytes.write(VERSION, out -> {
      out.writeInt(instance);
      out.writeLong(lengthAfter);
      out.writeInt(transactions.size());
      for (Transaction t : transactions) {
        out.writeLong(t.id());
        out.writeBoolean(t.inPlace());
        if (!t.inPlace()) {
          out.writeUTF(t.pendingFile());
        }
        out.writeLong(t.length());
      }
    });
  }

  /**
   * Reads what {@link #encode} wrote.
   *
   * @param what names the entry in errors
   */
  static TransactionLog decode(byte[] bytes, String what) {
    return StateBytes.read(bytes, VERSION, what, (in, version) -> {
      int instance = in.readInt();
      long lengthAfter = in.readLong();
      int n = in.readInt();
      if (n < 0) {
        throw new IllegalStateException(what + ": a negative transaction count " + n);
      }
      List<Transaction> transactions = new ArrayList<>(Math.min(n, 1024));
      for (int i = 0; i < n; i++) {
        long id = in.readLong();
        boolean inPlace = in.readBoolean();
        String file = inPlace ? null : in.readUTF();
        transactions.add(new Transaction(id, file, in.readLong()));
      }
      return new TransactionLog(instance, lengthAfter, transactions);
    });
  }
}
