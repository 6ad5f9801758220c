package io.sluice.coordinator.watermark;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.WatermarkReport;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class GlobalWatermarkTest {
  private static InstanceSnapshot instance(InstanceState state, WatermarkReport watermark) {
    return new InstanceSnapshot("s", 0, "s-0", 1, Endpoint.getDefaultInstance(),
        Endpoint.getDefaultInstance(), 0, "", state, "", 0, Optional.empty(), Optional.empty(), 0,
        0, Optional.ofNullable(watermark));
  }

  private static WatermarkReport wm(long value, boolean idle) {
    return WatermarkReport.newBuilder().setWatermark(value).setIdle(idle).build();
  }

  @Test
  void minimumOverInstancesThatAreNeitherIdleNorFinished() {
    assertThat(GlobalWatermark.of(List.of(
        instance(InstanceState.INSTANCE_STATE_RUNNING, wm(30, false)),
        instance(InstanceState.INSTANCE_STATE_RUNNING, wm(10, true)),
        instance(InstanceState.INSTANCE_STATE_FINISHED, null),
        instance(InstanceState.INSTANCE_STATE_RUNNING, wm(20, false))))).isEqualTo(20);
  }

  @Test
  void unknownWhileAnInstanceHasNotReportedOrAllAreIdle() {
    assertThat(GlobalWatermark.of(List.of(
        instance(InstanceState.INSTANCE_STATE_RUNNING, wm(30, false)),
        instance(InstanceState.INSTANCE_STATE_STARTING, null))))
        .isEqualTo(GlobalWatermark.UNKNOWN);
    assertThat(GlobalWatermark.of(List.of(
        instance(InstanceState.INSTANCE_STATE_RUNNING, wm(30, true)))))
        .isEqualTo(GlobalWatermark.UNKNOWN);
    assertThat(GlobalWatermark.of(List.of())).isEqualTo(GlobalWatermark.UNKNOWN);
  }
}
