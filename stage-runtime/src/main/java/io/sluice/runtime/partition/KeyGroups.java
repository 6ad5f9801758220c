package io.sluice.runtime.partition;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;
import io.sluice.proto.v1.KeyGroupRange;

/**
 * The partitioning contract: key group = murmur3_x86_32(key, seed 0), read as an unsigned 32-bit integer, mod max_parallelism, and
 * instance i of p owns the contiguous key groups [i·maxP/p, (i+1)·maxP/p). Test vectors that every
 * language must reproduce are in {@code sluice/v1/keygroup-vectors.json} of the proto module.
 * Stateless and thread-safe.
 */
public final class KeyGroups {
  /** The default size of the key-group space. */
  public static final int DEFAULT_MAX_PARALLELISM = 128;

  private static final HashFunction MURMUR3 = Hashing.murmur3_32_fixed(0);

  private KeyGroups() {}

  /** murmur3_x86_32 of the bytes with seed 0, as a signed int. */
  public static int murmur3(byte[] key) {
    return MURMUR3.hashBytes(key).asInt();
  }

  /** The key group of a key. */
  public static int keyGroup(byte[] key, int maxParallelism) {
    return Integer.remainderUnsigned(murmur3(key), maxParallelism);
  }

  /** The key group of a key given as a byte-string view, avoiding a copy where possible. */
  public static int keyGroup(com.google.protobuf.ByteString key, int maxParallelism) {
    return Integer.remainderUnsigned(MURMUR3.hashBytes(key.asReadOnlyByteBuffer()).asInt(), maxParallelism);
  }

  /** The key groups instance {@code index} of {@code parallelism} owns. */
  public static KeyGroupRange rangeFor(int index, int parallelism, int maxParallelism) {
    if (parallelism < 1 || parallelism > maxParallelism) {
      throw new IllegalArgumentException(
          "parallelism must be in [1, " + maxParallelism + "], got " + parallelism);
    }
    if (index < 0 || index >= parallelism) {
      throw new IllegalArgumentException(
          "index must be in [0, " + parallelism + "), got " + index);
    }
    return KeyGroupRange.newBuilder()
        .setStart(index * maxParallelism / parallelism)
        .setEnd((index + 1) * maxParallelism / parallelism)
        .build();
  }

  /** The index of the instance (of {@code parallelism}) that owns a key group. */
  public static int instanceFor(int keyGroup, int parallelism, int maxParallelism) {
    // The inverse of rangeFor: the largest i with i*maxP/p <= keyGroup.
    int i = (int) (((long) keyGroup * parallelism + parallelism - 1) / maxParallelism);
    while (i > 0 && i * maxParallelism / parallelism > keyGroup) {
      i--;
    }
    while (i + 1 < parallelism && (i + 1) * maxParallelism / parallelism <= keyGroup) {
      i++;
    }
    return i;
  }

  public static boolean contains(KeyGroupRange range, int keyGroup) {
    return keyGroup >= range.getStart() && keyGroup < range.getEnd();
  }
}
