package io.sluice.stages.dedup;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.hash.HashFunction;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StateRestore;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.stages.internal.StateBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The operator of a {@code dedup} stage (see {@link DedupStageFactory}). Public so that benchmarks
 * and tests can read the size of its state; made only by the factory.
 *
 * <p>State: one {@link FingerprintSet} per open bucket, keyed by the bucket's start. A bucket's set
 * is created by its first event, which also registers one event-time timer at {@code bucket_end -
 * 1 + allowedLateness}; when the watermark reaches it the set is dropped, and later events of the
 * bucket are late. The timer is registered under an empty key: buckets are per instance, not per
 * key, so one timer per bucket is enough (a timer per key would cost more than the fingerprints).
 *
 * <p>Checkpoints: the sets hold fingerprints of (key, value), which do not tell their key, so they
 * cannot follow key groups; they are operator-wide state instead, one entry per open bucket (its
 * start and length, then its fingerprints, 16 bytes each), plus one entry with the watermark. On
 * restore every instance gets every old instance's entries and merges them per bucket. That is
 * correct at any parallelism: an instance is only ever sent the keys it owns, so the fingerprints
 * of other keys are never looked up, only held; the cost is memory, each instance holding the
 * fingerprints of every old instance until their buckets expire. The bucket timers, registered
 * under one key whose key group may now belong to another instance, are registered again here.
 * Until the runtime's watermark (unknown after a restore) passes the restored one, expiry is
 * judged by the restored one, so an event late before the restore stays late.
 *
 * <p>Not thread-safe: the runtime calls it from its subtask's thread only.
 */
public final class DedupOperator implements Operator<byte[], byte[], byte[], byte[]> {
  private static final HashFunction MURMUR3_128 = Hashing.murmur3_128();
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final byte[] TIMER_KEY = new byte[0];
  private static final int STATE_VERSION = 1;
  // What an operator-wide entry holds (the byte after the version).
  private static final int WATERMARK_ENTRY = 0;
  private static final int BUCKET_ENTRY = 1;

  private final DedupBy by;
  private final long bucketMillis;
  private final long latenessMillis;
  private final Map<Long, FingerprintSet> buckets = new HashMap<>();
  // Most events fall into the newest bucket: remember it to skip the map (and its boxing).
  private long lastBucketStart = Long.MIN_VALUE;
  private FingerprintSet lastBucket;
  private final byte[] digest = new byte[16];
  private final ByteBuffer digestView = ByteBuffer.wrap(digest).order(ByteOrder.LITTLE_ENDIAN);
  private OperatorContext<byte[], byte[]> context;
  // The watermark restored from a checkpoint; expiry is judged by the greater of it and the
  // runtime's, which starts unknown after a restore.
  private long restoredWatermark = Long.MIN_VALUE;

  DedupOperator(DedupBy by, long bucketMillis, long latenessMillis) {
    this.by = by;
    this.bucketMillis = bucketMillis;
    this.latenessMillis = latenessMillis;
  }

  @Override
  public void init(OperatorContext<byte[], byte[]> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    long bucketStart = bucketStart(record.timestamp());
    if (expiry(bucketStart) <= watermark()) {
      context.forward(DedupStageFactory.LATE, record);
      return;
    }
    Hasher hasher = MURMUR3_128.newHasher();
    byte[] key = record.key();
    // The key is length-prefixed so that (key "ab", value "c") and (key "a", value "bc") differ.
    hasher.putInt(key.length).putBytes(key);
    switch (by.kind()) {
      case ID -> {
        if (record.id().isEmpty()) {
          context.deadLetter("dedup: the event has no id to deduplicate by (by: id)");
          return;
        }
        hasher.putString(record.id(), StandardCharsets.UTF_8);
      }
      case KEY -> {} // the key alone
      case PATH -> {
        byte[] value = pathValue(record.value());
        if (value == null) {
          return; // dead-lettered
        }
        hasher.putBytes(value);
      }
    }
    hasher.hash().writeBytesTo(digest, 0, 16);
    if (bucket(bucketStart).add(digestView.getLong(0), digestView.getLong(8))) {
      // The input record itself: the runtime forwards its original bytes.
      context.forward(record);
    }
  }

  @Override
  public void onTimer(byte[] key, long timestamp, TimeDomain domain) {
    if (domain != TimeDomain.EVENT_TIME) {
      return;
    }
    buckets.keySet().removeIf(start -> expiry(start) <= timestamp);
    if (!buckets.containsKey(lastBucketStart)) {
      lastBucketStart = Long.MIN_VALUE;
      lastBucket = null;
    }
  }

  /** Writes one entry with the watermark and one per open bucket (see the class comment). */
  @Override
  public void snapshotState(StateSnapshot<byte[]> snapshot) {
    long watermark = watermark();
    snapshot.putOperator(StateBytes.write(STATE_VERSION, out -> {
      out.writeByte(WATERMARK_ENTRY);
      out.writeLong(watermark);
    }));
    for (Map.Entry<Long, FingerprintSet> e : buckets.entrySet()) {
      long start = e.getKey();
      FingerprintSet set = e.getValue();
      snapshot.putOperator(StateBytes.write(STATE_VERSION, out -> {
        out.writeByte(BUCKET_ENTRY);
        out.writeLong(start);
        out.writeLong(bucketMillis);
        set.writeTo(out);
      }));
    }
  }

  /**
   * Merges every old instance's buckets, keeps the greatest old watermark (they are equal after
   * aligned barriers), drops the buckets that watermark has expired, and registers a timer for
   * each other bucket.
   *
   * @throws IllegalStateException when the checkpoint's buckets have another length than the
   *     stage's {@code bucket} now
   */
  @Override
  public void restoreState(StateRestore<byte[]> restore) {
    String where = "dedup " + context.instanceId() + ": restoring checkpoint " + restore.checkpointId();
    for (StateRestore.OperatorEntry e : restore.operatorEntries()) {
      String what = where + " (state of instance " + e.instanceIndex() + ")";
      StateBytes.read(e.value(), STATE_VERSION, what, (in, version) -> {
        int kind = in.readUnsignedByte();
        switch (kind) {
          case WATERMARK_ENTRY -> restoredWatermark = Math.max(restoredWatermark, in.readLong());
          case BUCKET_ENTRY -> {
            long start = in.readLong();
            long length = in.readLong();
            if (length != bucketMillis) {
              throw new IllegalStateException(what + ": its buckets are " + length + "ms long, the stage's bucket is "
                  + bucketMillis + "ms now; restore with the bucket the checkpoint was taken with");
            }
            buckets.computeIfAbsent(start, s -> new FingerprintSet()).addAll(in);
          }
          default -> throw new IllegalStateException(what + ": unknown entry kind " + kind);
        }
        return null;
      });
    }
    long watermark = watermark();
    buckets.keySet().removeIf(start -> expiry(start) <= watermark);
    for (long start : buckets.keySet()) {
      // The runtime restored these timers only where TIMER_KEY's key group went; registering one
      // that is back already does nothing.
      context.<byte[]>timerService().registerEventTimeTimer(TIMER_KEY, expiry(start));
    }
  }

  /** The watermark expiry is judged by: the runtime's, or the restored one while that is ahead. */
  private long watermark() {
    return Math.max(restoredWatermark, context.currentWatermark());
  }

  /** Buckets currently held. */
  public int openBuckets() {
    return buckets.size();
  }

  /** Distinct values held, over all open buckets. */
  public long distinctValues() {
    long n = 0;
    for (FingerprintSet s : buckets.values()) {
      n += s.size();
    }
    return n;
  }

  /** Bytes of fingerprint tables held, over all open buckets (16 per slot). */
  public long stateBytes() {
    long n = 0;
    for (FingerprintSet s : buckets.values()) {
      n += s.tableBytes();
    }
    return n;
  }

  /** The bucket of {@code start}, created (with its expiry timer) on first use. */
  private FingerprintSet bucket(long start) {
    if (start == lastBucketStart && lastBucket != null) {
      return lastBucket;
    }
    FingerprintSet set = buckets.get(start);
    if (set == null) {
      set = new FingerprintSet();
      buckets.put(start, set);
      context.<byte[]>timerService().registerEventTimeTimer(TIMER_KEY, expiry(start));
    }
    lastBucketStart = start;
    lastBucket = set;
    return set;
  }

  /** The JSON text of the {@code by} field, or null after dead-lettering the input. */
  private byte[] pathValue(byte[] payload) {
    JsonNode tree;
    try {
      tree = MAPPER.readTree(payload);
    } catch (IOException e) {
      String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
      context.deadLetter("dedup: the payload is not JSON, so " + by.path() + " cannot be read: " + why);
      return null;
    }
    JsonNode field = tree == null ? null : tree.at(by.pointer());
    if (field == null || field.isMissingNode()) {
      context.deadLetter("dedup: " + by.path() + " is missing from the payload (" + by.describe() + ")");
      return null;
    }
    if (field.isNull()) {
      context.deadLetter("dedup: " + by.path() + " is null in the payload (" + by.describe() + ")");
      return null;
    }
    try {
      // The JSON text, so that the string "5" and the number 5 stay different values.
      return MAPPER.writeValueAsBytes(field);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a parsed JSON tree failed to serialize", e);
    }
  }

  /** The start of the epoch-aligned bucket holding {@code timestamp}. */
  long bucketStart(long timestamp) {
    long start = timestamp - Math.floorMod(timestamp, bucketMillis);
    return start > timestamp ? Long.MIN_VALUE : start; // wrapped below Long.MIN_VALUE
  }

  /** When a bucket expires: the watermark at which its timer fires and its events become late. */
  long expiry(long bucketStart) {
    long lastMillis = saturatedAdd(bucketStart, bucketMillis - 1);
    return saturatedAdd(lastMillis, latenessMillis);
  }

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    // b >= 0 here: overflow can only go past Long.MAX_VALUE.
    return r < a ? Long.MAX_VALUE : r;
  }
}
