package io.sluice.coordinator.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.InstanceState;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MetricRatesTest {
  private static InstanceSnapshot withMetrics(
      InstanceMetrics previous, long previousNanos, InstanceMetrics latest, long latestNanos) {
    return new InstanceSnapshot("s", 0, "s-0", 1, Endpoint.getDefaultInstance(),
        Endpoint.getDefaultInstance(), 0, "java", InstanceState.INSTANCE_STATE_RUNNING, "", 0,
        Optional.ofNullable(latest), Optional.ofNullable(previous), latestNanos, previousNanos,
        Optional.empty());
  }

  @Test
  void noSamplesNoRates() {
    assertThat(MetricRates.of(withMetrics(null, 0, null, 0))).isEqualTo(MetricRates.NONE);
  }

  @Test
  void oneSampleGivesRatiosSinceStartAndNoRates() {
    InstanceMetrics m = InstanceMetrics.newBuilder()
        .setRecordsIn(50).setBusyMillis(300).setBackpressuredMillis(100).setIdleMillis(600)
        .build();
    assertThat(MetricRates.of(withMetrics(null, 0, m, 5))).isEqualTo(
        new MetricRates(0, 0, 0.3, 0.1, 0.6));
  }

  @Test
  void withoutSampleTimesTheArrivalTimesGiveTheInterval() {
    InstanceMetrics a = InstanceMetrics.newBuilder().setRecordsOut(0).setBusyMillis(0).build();
    InstanceMetrics b = InstanceMetrics.newBuilder().setRecordsOut(40).setBusyMillis(900).build();
    // 500 ms apart; busy more than the interval (clock skew) is clamped to 1.
    MetricRates rates = MetricRates.of(withMetrics(a, 1_000_000_000L, b, 1_500_000_000L));
    assertThat(rates.recordsOutPerSecond()).isEqualTo(80.0);
    assertThat(rates.busyRatio()).isEqualTo(1.0);
  }
}
