package io.sluice.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import org.junit.jupiter.api.Test;

class StatusLineTest {
  @Test
  void showsRunningOverDesiredAndSummedRatesPerStage() {
    PipelineStatus s =
        PipelineStatus.newBuilder()
            .setPipeline("clicks")
            .setState("degraded")
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
        .isEqualTo("clicks degraded | in 1/1 0.0->12.0k/s | per-user 2/3 (1 dead) 1200->1200/s");
  }

  private static InstanceStatus running(double in, double out) {
    return InstanceStatus.newBuilder()
        .setState(InstanceState.INSTANCE_STATE_RUNNING)
        .setRecordsInPerSecond(in)
        .setRecordsOutPerSecond(out)
        .build();
  }
}
