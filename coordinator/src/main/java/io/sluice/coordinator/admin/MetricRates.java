package io.sluice.coordinator.admin;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.InstanceMetrics;

/**
 * Rates and time ratios of one instance over its last metrics interval, from its two latest
 * (monotonic) samples. With one sample there is no interval: rates are 0 and the ratios are those
 * since the instance started. Immutable.
 *
 * @param recordsInPerSecond records taken in per second
 * @param recordsOutPerSecond records sent per second
 * @param busyRatio fraction of the interval spent processing
 * @param backpressuredRatio fraction spent waiting on a not-ready output
 * @param idleRatio fraction spent waiting for input
 */
public record MetricRates(
    double recordsInPerSecond,
    double recordsOutPerSecond,
    double busyRatio,
    double backpressuredRatio,
    double idleRatio) {

  public static final MetricRates NONE = new MetricRates(0, 0, 0, 0, 0);

  /** The rates of an instance from its latest two samples. */
  public static MetricRates of(InstanceSnapshot instance) {
    if (instance.latestMetrics().isEmpty()) {
      return NONE;
    }
    InstanceMetrics latest = instance.latestMetrics().get();
    if (instance.previousMetrics().isEmpty()) {
      return sinceStart(latest);
    }
    InstanceMetrics previous = instance.previousMetrics().get();
    // The instance's own sample times are the most exact; fall back to when they arrived.
    double millis = latest.getSampledAtMillis() - previous.getSampledAtMillis();
    if (latest.getSampledAtMillis() == 0 || previous.getSampledAtMillis() == 0 || millis <= 0) {
      millis = (instance.latestMetricsNanos() - instance.previousMetricsNanos()) / 1e6;
    }
    if (millis <= 0) {
      return sinceStart(latest);
    }
    return new MetricRates(
        perSecond(latest.getRecordsIn() - previous.getRecordsIn(), millis),
        perSecond(latest.getRecordsOut() - previous.getRecordsOut(), millis),
        ratio(latest.getBusyMillis() - previous.getBusyMillis(), millis),
        ratio(latest.getBackpressuredMillis() - previous.getBackpressuredMillis(), millis),
        ratio(latest.getIdleMillis() - previous.getIdleMillis(), millis));
  }

  private static MetricRates sinceStart(InstanceMetrics m) {
    double total = m.getBusyMillis() + m.getBackpressuredMillis() + m.getIdleMillis();
    if (total <= 0) {
      return NONE;
    }
    return new MetricRates(0, 0, m.getBusyMillis() / total, m.getBackpressuredMillis() / total,
        m.getIdleMillis() / total);
  }

  private static double perSecond(long delta, double millis) {
    return Math.max(0, delta) * 1000.0 / millis;
  }

  /** Clamped to [0, 1]: the instance's and the coordinator's clocks never agree exactly. */
  private static double ratio(long deltaMillis, double millis) {
    return Math.min(1.0, Math.max(0.0, deltaMillis / millis));
  }
}
