package io.sluice.coordinator.watermark;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.WatermarkReport;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SlowestSourceWatermarkTest {
  private static final Set<String> SOURCES = Set.of("web", "app");
  private static final long UNKNOWN = SlowestSourceWatermark.UNKNOWN;

  private static InstanceSnapshot instance(
      String stage, InstanceState state, WatermarkReport watermark) {
    return new InstanceSnapshot(stage, 0, stage + "-0", 1, Endpoint.getDefaultInstance(),
        Endpoint.getDefaultInstance(), 0, "", state, "", 0, Optional.empty(), Optional.empty(), 0,
        0, Optional.ofNullable(watermark));
  }

  private static InstanceSnapshot running(String stage, long watermark) {
    return instance(stage, InstanceState.INSTANCE_STATE_RUNNING, wm(watermark, false));
  }

  private static WatermarkReport wm(long value, boolean idle) {
    return WatermarkReport.newBuilder().setWatermark(value).setIdle(idle).build();
  }

  @Test
  void theMinimumOverSourceInstancesOfEverySourceStage() {
    assertThat(SlowestSourceWatermark.of(
        List.of(running("web", 30), running("app", 20), running("web", 25)), SOURCES))
        .isEqualTo(20);
  }

  @Test
  void operatorsAndSinksDoNotCountEvenWhenTheyAreBehindOrUnreported() {
    assertThat(SlowestSourceWatermark.of(List.of(
        running("web", 30),
        running("buys", 5),
        instance("out", InstanceState.INSTANCE_STATE_STARTING, null)), SOURCES))
        .isEqualTo(30);
  }

  @Test
  void idleFinishedAndDeadSourcesAreLeftOut() {
    assertThat(SlowestSourceWatermark.of(List.of(
        running("web", 30),
        instance("app", InstanceState.INSTANCE_STATE_RUNNING, wm(10, true)),
        instance("app", InstanceState.INSTANCE_STATE_FINISHED, wm(11, false)),
        instance("web", InstanceState.INSTANCE_STATE_DEAD, wm(12, false)),
        // Finished and dead ones are left out even when they never reported.
        instance("web", InstanceState.INSTANCE_STATE_FINISHED, null),
        instance("web", InstanceState.INSTANCE_STATE_DEAD, null)), SOURCES))
        .isEqualTo(30);
  }

  @Test
  void drainingAndStartingSourcesStillCount() {
    assertThat(SlowestSourceWatermark.of(List.of(
        running("web", 30),
        instance("app", InstanceState.INSTANCE_STATE_DRAINING, wm(15, false)),
        instance("web", InstanceState.INSTANCE_STATE_STARTING, wm(18, false))), SOURCES))
        .isEqualTo(15);
  }

  @Test
  void unknownWhileALiveSourceHasNotReported() {
    assertThat(SlowestSourceWatermark.of(List.of(
        running("web", 30),
        instance("app", InstanceState.INSTANCE_STATE_STARTING, null)), SOURCES))
        .isEqualTo(UNKNOWN);
    // An idle source that has not reported is still unreported: it could be anywhere.
    assertThat(SlowestSourceWatermark.of(List.of(
        instance("app", InstanceState.INSTANCE_STATE_RUNNING, null),
        instance("web", InstanceState.INSTANCE_STATE_RUNNING, wm(5, true))), SOURCES))
        .isEqualTo(UNKNOWN);
  }

  @Test
  void unknownWhenNoSourceIsLeft() {
    assertThat(SlowestSourceWatermark.of(List.of(), SOURCES)).isEqualTo(UNKNOWN);
    assertThat(SlowestSourceWatermark.of(List.of(running("buys", 5)), SOURCES))
        .isEqualTo(UNKNOWN);
    assertThat(SlowestSourceWatermark.of(List.of(
        instance("web", InstanceState.INSTANCE_STATE_RUNNING, wm(10, true)),
        instance("app", InstanceState.INSTANCE_STATE_FINISHED, wm(20, false)),
        instance("web", InstanceState.INSTANCE_STATE_DEAD, wm(30, false))), SOURCES))
        .isEqualTo(UNKNOWN);
  }

  @Test
  void aSourceReportingInt64MinMakesItUnknownAndExtremeValuesPassThrough() {
    // A source that has seen no event yet reports INT64_MIN: nothing can be said about the others.
    assertThat(SlowestSourceWatermark.of(
        List.of(running("web", 30), running("app", Long.MIN_VALUE)), SOURCES))
        .isEqualTo(UNKNOWN);
    assertThat(SlowestSourceWatermark.of(
        List.of(running("web", Long.MAX_VALUE), running("app", -5)), SOURCES))
        .isEqualTo(-5);
    assertThat(SlowestSourceWatermark.of(List.of(running("web", Long.MAX_VALUE)), SOURCES))
        .isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void sourceStagesAreThoseWhoseTypeIsASource() {
    assertThat(SlowestSourceWatermark.sourceStages(Specs.parse("""
        pipeline: p
        stages:
          - {name: web, type: ingest}
          - {name: app, type: ingest}
          - {name: buys, type: filter, from: [web, app], where: {field: $.action}}
          - {name: per-user, type: count, from: buys}
        """))).containsExactly("web", "app");
  }
}
