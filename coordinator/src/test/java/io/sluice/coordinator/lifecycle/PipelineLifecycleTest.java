package io.sluice.coordinator.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.testing.FakeTicker;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Register;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class PipelineLifecycleTest {
  private final InstanceRegistry registry = new InstanceRegistry(Specs.parse("""
      pipeline: p
      stages:
        - {name: in, type: ingest}
        - {name: out, type: filter, from: in, replicas: 2}
      """), new FakeTicker());
  private final PipelineLifecycle lifecycle = new PipelineLifecycle(registry);

  private InstanceSnapshot register(String stage, int index) {
    return registry.register(Register.newBuilder().setStage(stage).setRequestedIndex(index).build());
  }

  private void set(InstanceSnapshot i, InstanceState state) {
    registry.reportState(i.instanceId(), i.session(), state, "");
  }

  /** What a real instance does: reports that it serves, then gets complete routes. */
  private void serveAndRoute(InstanceSnapshot i) {
    registry.reportState(i.instanceId(), i.session(), InstanceState.INSTANCE_STATE_RUNNING, "serving");
    registry.markRunning(i.instanceId(), i.session());
  }

  @Test
  void runningNeedsBothCompleteRoutesAndServing() {
    InstanceSnapshot in = register("in", 0);
    registry.markRunning(in.instanceId(), in.session()); // routes complete, services not up yet
    assertThat(registry.instance(in.instanceId()).orElseThrow().state())
        .isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    registry.reportState(in.instanceId(), in.session(), InstanceState.INSTANCE_STATE_RUNNING, "serving");
    assertThat(registry.instance(in.instanceId()).orElseThrow().state())
        .isEqualTo(InstanceState.INSTANCE_STATE_RUNNING);
  }

  @Test
  void startsRunsDegradesDrainsAndFinishes() throws InterruptedException {
    assertThat(lifecycle.state()).isEqualTo(PipelineState.STARTING);
    InstanceSnapshot in = register("in", 0);
    InstanceSnapshot out0 = register("out", 0);
    serveAndRoute(in);
    serveAndRoute(out0);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.STARTING); // out has 1 of 2

    InstanceSnapshot out1 = register("out", 1);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.STARTING); // registered, not routed
    serveAndRoute(out1);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.RUNNING);

    registry.markDead(out1.instanceId(), out1.session(), "test");
    assertThat(lifecycle.state()).isEqualTo(PipelineState.DEGRADED);
    out1 = register("out", 1);
    serveAndRoute(out1);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.RUNNING);

    assertThat(lifecycle.startDrain()).isTrue();
    assertThat(lifecycle.startDrain()).isFalse();
    assertThat(lifecycle.state()).isEqualTo(PipelineState.DRAINING);
    set(in, InstanceState.INSTANCE_STATE_FINISHED);
    set(out0, InstanceState.INSTANCE_STATE_FINISHED);
    assertThat(lifecycle.awaitFinished(Duration.ZERO)).isFalse();
    set(out1, InstanceState.INSTANCE_STATE_FINISHED);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.FINISHED);
    assertThat(lifecycle.state().wireName()).isEqualTo("finished");
    assertThat(lifecycle.awaitFinished(Duration.ZERO)).isTrue();
    assertThat(lifecycle.finished()).isDone();
  }

  @Test
  void notFinishedWhileAStageHasNoInstanceAtAll() {
    InstanceSnapshot in = register("in", 0);
    set(in, InstanceState.INSTANCE_STATE_FINISHED);
    assertThat(lifecycle.state()).isNotEqualTo(PipelineState.FINISHED);
  }

  @Test
  void restoringWinsOverDegradedAndStartingButNotOverFinished() {
    InstanceSnapshot in = register("in", 0);
    registry.markDead(in.instanceId(), in.session(), "crashed");
    assertThat(lifecycle.state()).isEqualTo(PipelineState.DEGRADED);
    lifecycle.setRestoring(true);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.RESTORING);
    assertThat(lifecycle.state().wireName()).isEqualTo("restoring");
    lifecycle.setRestoring(false);
    assertThat(lifecycle.state()).isEqualTo(PipelineState.DEGRADED);
  }
}
