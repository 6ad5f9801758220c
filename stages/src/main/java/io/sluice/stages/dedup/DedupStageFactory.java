package io.sluice.stages.dedup;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.time.Duration;
import java.util.List;

/**
 * {@code type: dedup}: compaction. Passes the first event of each distinct value per event-time
 * bucket, unchanged (its original bytes), and drops later duplicates in the same bucket.
 *
 * <pre>
 * by: id                 # default; or key, or a JSON path into the payload such as $.order.id
 * bucket: 1h             # required: event-time buckets [k·bucket, (k+1)·bucket), aligned to the epoch
 * allowedLateness: 0s    # default 0
 * </pre>
 *
 * <p>Two events are duplicates when they have the same key and the same {@code by} value (the
 * event id, the key alone, or the JSON text of the field) and fall into the same bucket. The key
 * takes part so that the result does not depend on the number of replicas: a {@code hash} edge
 * brings every event of a key to one instance, whatever the parallelism.
 *
 * <p>An event whose bucket has expired ({@code bucket_end - 1 + allowedLateness <= watermark},
 * the rule for late window events) goes to the side output {@code late}, unchanged; read it with
 * {@code from: {stage: NAME, output: late}}. Dead letters: an event without an id ({@code by:
 * id}); a payload that is not JSON, or whose field is missing or null ({@code by: $.path}).
 *
 * <p>State: per bucket, a {@link FingerprintSet} of murmur3_128 fingerprints (21 to 43 bytes per
 * distinct value), dropped by an event-time timer when the bucket expires. Keyed and stateful; keys
 * and payloads are raw bytes, so any payload passes with {@code by: id} or {@code by: key}.
 * Checkpointed as operator-wide state: on a restore every instance takes every old instance's
 * buckets, which costs memory after a rescale (see {@link DedupOperator}).
 *
 * <p>Stateless and thread-safe; each operator it makes is confined to its subtask's thread.
 */
public final class DedupStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "dedup";

  /** The side output that takes events whose bucket has expired. */
  public static final OutputTag<byte[], byte[]> LATE = new OutputTag<>("late", Serdes.bytes(), Serdes.bytes());

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public boolean stateful() {
    return true;
  }

  @Override
  public StageDefinition<byte[], byte[], byte[], byte[]> create(StageConfig config) {
    DedupBy by = DedupBy.parse(config);
    if (!config.has("bucket")) {
      throw new ConfigException(
          "bucket", "'bucket' is required: the event-time span within which duplicates are dropped, e.g. bucket: 1h");
    }
    Duration bucket = config.duration("bucket");
    if (bucket.toMillis() < 1) {
      throw new ConfigException("bucket", "'bucket' must be at least 1ms, got: " + bucket.toMillis() + "ms");
    }
    Duration lateness = config.duration("allowedLateness", Duration.ZERO);
    if (lateness.isNegative()) {
      throw new ConfigException("allowedLateness", "'allowedLateness' must not be negative, got: " + lateness);
    }
    long bucketMillis = bucket.toMillis();
    long latenessMillis = lateness.toMillis();
    return new StageDefinition<>(
        Serdes.bytes(),
        Serdes.bytes(),
        Serdes.bytes(),
        Serdes.bytes(),
        () -> new DedupOperator(by, bucketMillis, latenessMillis),
        List.of(LATE));
  }
}
