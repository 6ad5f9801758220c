package io.sluice.coordinator.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.sluice.coordinator.testing.FakeTicker;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Register;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class InstanceRegistryTest {
  private final FakeTicker ticker = new FakeTicker();
  private final InstanceRegistry registry = new InstanceRegistry(Specs.parse("""
      pipeline: p
      stages:
        - {name: in, type: ingest}
        - {name: buys, type: filter, from: in, replicas: 2}
        - {name: per-user, type: count, from: buys, replicas: 2}
      """), ticker);

  static Register register(String stage, int index) {
    return Register.newBuilder()
        .setStage(stage)
        .setRequestedIndex(index)
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(9000 + Math.max(index, 0)))
        .setRuntime("java")
        .setPid(42)
        .build();
  }

  private static Status.Code codeOf(Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    return Status.Code.OK;
  }

  @Test
  void requestedIndexIsTakenAndMinusOneTakesTheLowestFree() {
    InstanceSnapshot one = registry.register(register("buys", 1));
    assertThat(one.instanceId()).isEqualTo("buys-1");
    assertThat(one.state()).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    assertThat(one.endpoint().getPort()).isEqualTo(9001);
    assertThat(one.pid()).isEqualTo(42);

    assertThat(registry.register(register("buys", -1)).index()).isZero();
    assertThat(registry.instances("buys")).extracting(InstanceSnapshot::instanceId)
        .containsExactly("buys-0", "buys-1");
  }

  @Test
  void liveIndexIsAlreadyTakenButADeadOneMayBeTakenAgain() {
    InstanceSnapshot first = registry.register(register("buys", 0));
    assertThat(codeOf(() -> registry.register(register("buys", 0))))
        .isEqualTo(Status.Code.ALREADY_EXISTS);

    assertThat(registry.markDead("buys-0", first.session(), "gone")).isTrue();
    InstanceSnapshot second = registry.register(register("buys", 0));
    assertThat(second.session()).isNotEqualTo(first.session());
    assertThat(second.state()).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    // The old session can no longer touch the index.
    assertThat(registry.heartbeat("buys-0", first.session())).isFalse();
    assertThat(registry.markDead("buys-0", first.session(), "late close")).isFalse();
    assertThat(registry.instance("buys-0").orElseThrow().state())
        .isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
  }

  @Test
  void minusOneSkipsLiveIndicesButReusesDeadOnes() {
    InstanceSnapshot zero = registry.register(register("buys", -1));
    registry.register(register("buys", -1));
    registry.markDead(zero.instanceId(), zero.session(), "gone");
    assertThat(registry.register(register("buys", -1)).index()).isZero();
  }

  @Test
  void unknownStageIsNotFoundAndListsTheStages() {
    assertThatThrownBy(() -> registry.register(register("nope", 0)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getStatus().getDescription()).contains("in, buys, per-user");
        });
    assertThat(codeOf(() -> registry.register(register("", 0))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void stageTypeMustMatchTheSpecUnlessEmpty() {
    assertThat(codeOf(() -> registry.register(register("buys", 0).toBuilder()
        .setStageType("count").build()))).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(registry.register(register("buys", 0).toBuilder().setStageType("filter").build())
        .instanceId()).isEqualTo("buys-0");
  }

  @Test
  void indexBeyondParallelismScalesOutAStatelessStage() {
    AtomicInteger changes = new AtomicInteger();
    registry.addListener(changes::incrementAndGet);
    registry.register(register("buys", 3));
    assertThat(registry.desiredParallelism("buys")).isEqualTo(4);
    assertThat(changes.get()).isEqualTo(1);
    // With 0..1 and 3 registered, -1 fills the gap first.
    registry.register(register("buys", 0));
    registry.register(register("buys", 1));
    assertThat(registry.register(register("buys", -1)).index()).isEqualTo(2);
    assertThat(registry.register(register("buys", -1)).index()).isEqualTo(4);
    assertThat(registry.desiredParallelism("buys")).isEqualTo(5);
  }

  @Test
  void indexBeyondParallelismOfAStatefulStageNeedsASavepoint() {
    assertThatThrownBy(() -> registry.register(register("per-user", 2)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription())
              .startsWith("stage 'per-user' keeps keyed state; rescale it through a savepoint");
        });
    assertThat(registry.desiredParallelism("per-user")).isEqualTo(2);
    assertThat(registry.instances("per-user")).isEmpty();
  }

  @Test
  void scaleChangesStatelessStagesOnly() {
    assertThat(registry.scale("buys", 3)).isEqualTo(2);
    assertThat(registry.desiredParallelism("buys")).isEqualTo(3);
    assertThat(registry.scale("per-user", 2)).isEqualTo(2); // no change is fine
    assertThat(codeOf(() -> registry.scale("per-user", 3)))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(codeOf(() -> registry.scale("buys", 0))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(codeOf(() -> registry.scale("buys", 129))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(codeOf(() -> registry.scale("nope", 1))).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void reportsUpdateTheInstanceAndKeepTwoMetricsSamples() {
    InstanceSnapshot in = registry.register(register("in", 0));
    ticker.advance(Duration.ofSeconds(2));
    assertThat(registry.heartbeat("in-0", in.session())).isTrue();
    assertThat(registry.instance("in-0").orElseThrow().lastHeartbeatNanos())
        .isEqualTo(ticker.getAsLong());

    var m1 = io.sluice.proto.v1.InstanceMetrics.newBuilder().setRecordsIn(10).build();
    var m2 = io.sluice.proto.v1.InstanceMetrics.newBuilder().setRecordsIn(30).build();
    registry.recordMetrics("in-0", in.session(), m1);
    registry.recordMetrics("in-0", in.session(), m2);
    InstanceSnapshot now = registry.instance("in-0").orElseThrow();
    assertThat(now.latestMetrics()).contains(m2);
    assertThat(now.previousMetrics()).contains(m1);

    assertThat(registry.reportState("in-0", in.session(), InstanceState.INSTANCE_STATE_FINISHED, ""))
        .isTrue();
    // Finished is final for this session: it is neither revived nor killed.
    assertThat(registry.markDead("in-0", in.session(), "stream closed")).isFalse();
    assertThat(registry.markRunning("in-0", in.session())).isFalse();
    assertThat(registry.instance("in-0").orElseThrow().state())
        .isEqualTo(InstanceState.INSTANCE_STATE_FINISHED);
  }

  @Test
  void runningFromTheInstanceMeansServingAndLeavesStartingToTheRoutes() {
    AtomicInteger changes = new AtomicInteger();
    InstanceSnapshot buys = registry.register(register("buys", 0));
    registry.addListener(changes::incrementAndGet);
    assertThat(registry.isServing(buys)).isFalse();

    assertThat(registry.reportState(
        "buys-0", buys.session(), InstanceState.INSTANCE_STATE_RUNNING, "serving")).isTrue();
    assertThat(registry.isServing(buys)).isTrue();
    assertThat(changes.get()).isEqualTo(1); // serving changes who is routed to
    // Its own routes may still lack targets: running is for the coordinator to say.
    assertThat(registry.instance("buys-0").orElseThrow().state())
        .isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    assertThat(registry.reportState(
        "buys-0", buys.session(), InstanceState.INSTANCE_STATE_RUNNING, "serving")).isFalse();

    assertThat(registry.markRunning("buys-0", buys.session())).isTrue();
    assertThat(registry.instance("buys-0").orElseThrow().state())
        .isEqualTo(InstanceState.INSTANCE_STATE_RUNNING);

    // Serving belongs to one registration: a new one must report again.
    registry.markDead("buys-0", buys.session(), "gone");
    InstanceSnapshot again = registry.register(register("buys", 0));
    assertThat(registry.isServing(again)).isFalse();
  }
}
