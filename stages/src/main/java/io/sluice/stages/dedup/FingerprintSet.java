package io.sluice.stages.dedup;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * A set of 128-bit fingerprints in one {@code long[]}: open addressing with linear probing, two
 * longs per slot, doubled when three quarters full. No per-entry objects, so a distinct value
 * costs 16 bytes of table at full load and at most 43 bytes just after a doubling (21 to 43
 * bytes per value, about 32 on average).
 *
 * <p>The fingerprint (0, 0) marks an empty slot, so {@link #add} stores it as (0, 1). That merges
 * two of 2<sup>128</sup> fingerprints; against the birthday bound below it changes nothing.
 *
 * <p>Collision odds: with well-mixed 128-bit fingerprints (murmur3_128), the chance that any two
 * of {@code n} distinct values in one set share a fingerprint, so that the second is wrongly taken
 * for a duplicate, is about n<sup>2</sup>/2<sup>129</sup>: 1.5·10<sup>-27</sup> for a million
 * values, 1.5·10<sup>-21</sup> for a billion.
 *
 * <p>Not thread-safe: an operator keeps it confined to its subtask's thread.
 */
public final class FingerprintSet {
  /** Slots of a new set; a power of two. */
  static final int INITIAL_SLOTS = 16;
  // 2^29 slots = 2^30 longs = 8 GiB: Java arrays stop near 2^31 elements, and long before that a
  // bucket this large means the bucket setting is wrong.
  private static final int MAX_SLOTS = 1 << 29;

  private long[] table = new long[2 * INITIAL_SLOTS];
  private int mask = INITIAL_SLOTS - 1;
  private int size;
  private int growAt = INITIAL_SLOTS / 4 * 3;

  /**
   * Adds a fingerprint.
   *
   * @return true if it was new, false if the set already held it
   * @throws IllegalStateException when the set would need more than 2^29 slots
   */
  public boolean add(long hi, long lo) {
    if (hi == 0 && lo == 0) {
      lo = 1;
    }
    int slot = (int) hi & mask;
    while (true) {
      int i = slot << 1;
      long h = table[i];
      long l = table[i + 1];
      if (h == 0 && l == 0) {
        break;
      }
      if (h == hi && l == lo) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    if (size + 1 > growAt) {
      grow();
      insertNew(hi, lo);
    } else {
      table[slot << 1] = hi;
      table[(slot << 1) + 1] = lo;
    }
    size++;
    return true;
  }

  /** Whether the set holds a fingerprint. */
  public boolean contains(long hi, long lo) {
    if (hi == 0 && lo == 0) {
      lo = 1;
    }
    int slot = (int) hi & mask;
    while (true) {
      int i = slot << 1;
      long h = table[i];
      long l = table[i + 1];
      if (h == 0 && l == 0) {
        return false;
      }
      if (h == hi && l == lo) {
        return true;
      }
      slot = (slot + 1) & mask;
    }
  }

  /**
   * Writes the set for a checkpoint: the number of fingerprints (int), then each as two longs, in
   * table order. 16 bytes per value, whatever the table's load.
   */
  public void writeTo(DataOutput out) throws IOException {
    out.writeInt(size);
    for (int i = 0; i < table.length; i += 2) {
      if (table[i] != 0 || table[i + 1] != 0) {
        out.writeLong(table[i]);
        out.writeLong(table[i + 1]);
      }
    }
  }

  /**
   * Adds the fingerprints {@link #writeTo} wrote (several sets may be read into one: they merge).
   *
   * @throws IOException when the input ends early or holds a negative count
   */
  public void addAll(DataInput in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("a fingerprint set of negative size " + n + "; the state is corrupt");
    }
    for (int i = 0; i < n; i++) {
      add(in.readLong(), in.readLong());
    }
  }

  /** How many fingerprints the set holds. */
  public int size() {
    return size;
  }

  /** Slots in the table (a power of two). */
  public int capacity() {
    return mask + 1;
  }

  /** Bytes of the table's payload: 16 per slot. */
  public long tableBytes() {
    return (long) table.length * Long.BYTES;
  }

  /**
   * Estimated heap bytes of the set: the table, its array header (16 bytes) and this object (about
   * 32 bytes on a 64-bit JVM with compressed references).
   */
  public long retainedBytes() {
    return tableBytes() + 16 + 32;
  }

  private void grow() {
    int slots = capacity();
    if (slots >= MAX_SLOTS) {
      throw new IllegalStateException(
          "dedup: a bucket holds " + size + " distinct values, the most one fingerprint set can take;"
              + " use a shorter bucket");
    }
    long[] old = table;
    table = new long[old.length * 2];
    mask = slots * 2 - 1;
    growAt = (slots * 2) / 4 * 3;
    for (int i = 0; i < old.length; i += 2) {
      if (old[i] != 0 || old[i + 1] != 0) {
        insertNew(old[i], old[i + 1]);
      }
    }
  }

  /** Puts a fingerprint known to be absent into the first free slot of its probe sequence. */
  private void insertNew(long hi, long lo) {
    int slot = (int) hi & mask;
    while (table[slot << 1] != 0 || table[(slot << 1) + 1] != 0) {
      slot = (slot + 1) & mask;
    }
    table[slot << 1] = hi;
    table[(slot << 1) + 1] = lo;
  }
}
