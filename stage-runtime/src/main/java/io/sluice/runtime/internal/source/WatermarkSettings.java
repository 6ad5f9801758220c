package io.sluice.runtime.internal.source;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.time.Duration;

/**
 * How a source makes watermarks, from its {@code watermark:} settings (Flink's bounded
 * out-of-orderness strategy):
 *
 * <ul>
 *   <li>{@code maxOutOfOrder} (default 0): watermark = highest event time seen − maxOutOfOrder − 1
 *       ms;
 *   <li>{@code idleTimeout} (default 30s; 0 switches idleness off): with no input for that long
 *       the source marks itself idle, so downstream minimums leave it out until it has input again;
 *   <li>{@code interval} (default 200ms): how often an advanced watermark is sent; 0 sends it after
 *       every client request, which makes the watermark a deterministic function of the input order;
 *   <li>{@code maxDrift} (default 0 = no alignment): the source takes no input while its watermark
 *       is more than this ahead of the slowest source's, as the coordinator reports it.
 * </ul>
 */
public record WatermarkSettings(
    long maxOutOfOrderMillis, long idleTimeoutMillis, long intervalMillis, long maxDriftMillis) {

  /** Parses and checks the settings. */
  public static WatermarkSettings from(StageConfig config) {
    return new WatermarkSettings(
        nonNegative(config, "watermark.maxOutOfOrder", Duration.ZERO),
        nonNegative(config, "watermark.idleTimeout", Duration.ofSeconds(30)),
        nonNegative(config, "watermark.interval", Duration.ofMillis(200)),
        nonNegative(config, "watermark.maxDrift", Duration.ZERO));
  }

  private static long nonNegative(StageConfig config, String key, Duration fallback) {
    Duration d = config.duration(key, fallback);
    if (d.isNegative()) {
      throw new ConfigException(key, "'" + key + "' must not be negative, got " + d);
    }
    return d.toMillis();
  }

  /** The watermark for the highest event time seen; MIN_VALUE before any event. */
  public long watermarkFor(long maxEventTime) {
    return maxEventTime == Long.MIN_VALUE ? Long.MIN_VALUE : maxEventTime - maxOutOfOrderMillis - 1;
  }
}
