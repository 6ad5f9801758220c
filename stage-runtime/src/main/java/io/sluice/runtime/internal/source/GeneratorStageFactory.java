package io.sluice.runtime.internal.source;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.api.Serdes;

/**
 * The {@code generator} stage type: a source that makes events itself (like Flink's DataGen), for
 * benchmarks, demos and load tests. It generates only while its outputs are ready, so it runs
 * exactly as fast as the pipeline lets it (or at {@code rate}).
 *
 * <p>Settings: {@code count} (events per replica, 0 = until drained), {@code rate} (events/s per
 * replica, 0 = as fast as the pipeline takes them), {@code payloadBytes} (default 100), {@code
 * keys} (key cardinality, default 1000), {@code format} ({@code binary}: the payload starts with the
 * 8-byte System.nanoTime() of its creation, for latency measurement on one machine; {@code json}: a
 * small JSON document), {@code watermark} (see {@link WatermarkSettings}; event time is the
 * wall clock at generation).
 */
public final class GeneratorStageFactory implements StageFactory {
  public static final String TYPE = "generator";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Role role() {
    return Role.SOURCE;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    settings(config);
    return StageDefinition.of(
        Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(),
        () -> new IngestStageFactory.PassThrough());
  }

  /** The validated settings. */
  public static Settings settings(StageConfig config) {
    io.sluice.runtime.internal.trace.TraceOrigin.validate(config);
    WatermarkSettings.from(config);
    long count = config.longValue("count", 0);
    double rate = config.doubleValue("rate", 0);
    int payloadBytes = config.intValue("payloadBytes", 100);
    int keys = config.intValue("keys", 1000);
    String format = config.string("format", "binary");
    if (count < 0) {
      throw new ConfigException("count", "'count' must not be negative");
    }
    if (rate < 0) {
      throw new ConfigException("rate", "'rate' must not be negative");
    }
    if (payloadBytes < 8 || payloadBytes > 1_000_000) {
      throw new ConfigException("payloadBytes", "'payloadBytes' must be in [8, 1000000]");
    }
    if (keys < 1) {
      throw new ConfigException("keys", "'keys' must be at least 1");
    }
    if (!format.equals("binary") && !format.equals("json")) {
      throw new ConfigException("format", "'format' must be binary or json, got: " + format);
    }
    return new Settings(count, rate, payloadBytes, keys, format.equals("json"));
  }

  /** Generator settings. */
  public record Settings(long count, double rate, int payloadBytes, int keys, boolean json) {}
}
