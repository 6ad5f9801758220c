package io.sluice.coordinator.liveness;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.testing.FakeTicker;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Register;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LivenessMonitorTest {
  private final FakeTicker ticker = new FakeTicker();
  private final InstanceRegistry registry = new InstanceRegistry(Specs.parse("""
      pipeline: p
      stages:
        - {name: in, type: ingest, replicas: 2}
      """), ticker);
  private final List<InstanceSnapshot> reported = new ArrayList<>();
  private final LivenessMonitor monitor =
      new LivenessMonitor(registry, Duration.ofSeconds(5), reported::addAll);

  private InstanceSnapshot register(int index) {
    return registry.register(Register.newBuilder().setStage("in").setRequestedIndex(index).build());
  }

  private InstanceState state(String id) {
    return registry.instance(id).orElseThrow().state();
  }

  @Test
  void silenceLongerThanTheTimeoutIsDeath() {
    register(0);
    ticker.advance(Duration.ofSeconds(5));
    assertThat(monitor.check()).isEmpty(); // exactly the timeout is still alive
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);

    ticker.advance(Duration.ofMillis(200));
    assertThat(monitor.check()).extracting(InstanceSnapshot::instanceId).containsExactly("in-0");
    InstanceSnapshot dead = registry.instance("in-0").orElseThrow();
    assertThat(dead.state()).isEqualTo(InstanceState.INSTANCE_STATE_DEAD);
    assertThat(dead.stateReason()).isEqualTo("missed heartbeats for 5.2 s (timeout 5 s)");
    assertThat(reported).extracting(InstanceSnapshot::instanceId).containsExactly("in-0");

    // A dead instance is not declared dead again.
    ticker.advance(Duration.ofSeconds(10));
    assertThat(monitor.check()).isEmpty();
    assertThat(reported).hasSize(1);
  }

  @Test
  void heartbeatsKeepAnInstanceAlive() {
    InstanceSnapshot zero = register(0);
    register(1);
    for (int i = 0; i < 4; i++) {
      ticker.advance(Duration.ofSeconds(2));
      registry.heartbeat("in-0", zero.session());
      monitor.check();
    }
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    assertThat(state("in-1")).isEqualTo(InstanceState.INSTANCE_STATE_DEAD);
    assertThat(registry.instance("in-1").orElseThrow().stateReason())
        .isEqualTo("missed heartbeats for 6 s (timeout 5 s)");
  }

  @Test
  void finishedInstancesAreNotChecked() {
    InstanceSnapshot zero = register(0);
    registry.reportState("in-0", zero.session(), InstanceState.INSTANCE_STATE_FINISHED, "done");
    ticker.advance(Duration.ofMinutes(1));
    assertThat(monitor.check()).isEmpty();
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_FINISHED);
  }

  @Test
  void secondsAreShownInTenths() {
    assertThat(LivenessMonitor.seconds(5_000_000_000L)).isEqualTo("5 s");
    assertThat(LivenessMonitor.seconds(5_290_000_000L)).isEqualTo("5.2 s");
    assertThat(LivenessMonitor.seconds(300_000_000L)).isEqualTo("0.3 s");
    assertThat(LivenessMonitor.seconds(12_000_000_000L)).isEqualTo("12 s");
  }
}
