package io.sluice.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import org.junit.jupiter.api.Test;

class StatusLineTest {
  @Test
  void showsTheGlobalWatermarkThenRunningOverDesiredAndSummedRatesPerStage() {
    PipelineStatus s =
        PipelineStatus.newBuilder()
            .setPipeline("clicks")
            .setState("degraded")
            .setGlobalWatermark(1_767_225_605_250L)
            .addStages(
                StageStatus.newBuilder()
                    .setName("in")
                    .setDesiredParallelism(1)
                    .addInstances(running(0, 12_000)))
            .addStages(
                StageStatus.newBuilder()
                    .setName("per-user")
                    .setDesiredParallelism(3)
                    .addInstances(running(500, 500))
                    .addInstances(running(700, 700))
                    .addInstances(
                        InstanceStatus.newBuilder().setState(InstanceState.INSTANCE_STATE_DEAD)))
            .build();

    assertThat(StatusLine.format(s))
        .isEqualTo(
            "clicks degraded wm 2026-01-01T00:00:05.250Z | in 1/1 0.0->12.0k/s"
                + " | per-user 2/3 (1 dead) 1200->1200/s");
  }

  @Test
  void anUnknownWatermarkIsADashAndAnEndedOneIsEnd() {
    PipelineStatus.Builder s = PipelineStatus.newBuilder().setPipeline("clicks");
    assertThat(StatusLine.format(s.setState("starting").setGlobalWatermark(Long.MIN_VALUE).build()))
        .isEqualTo("clicks starting wm -");
    assertThat(StatusLine.format(s.setState("finished").setGlobalWatermark(Long.MAX_VALUE).build()))
        .isEqualTo("clicks finished wm end");
  }

  private static InstanceStatus running(double in, double out) {
    return InstanceStatus.newBuilder()
        .setState(InstanceState.INSTANCE_STATE_RUNNING)
        .setRecordsInPerSecond(in)
        .setRecordsOutPerSecond(out)
        .build();
  }
}
