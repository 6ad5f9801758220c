package io.sluice.coordinator.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.testing.InProcessCoordinator;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.InstanceState;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Source alignment over real control streams: what each source is told, and when. */
class SourceAlignmentTest {
  private static final long UNKNOWN = Long.MIN_VALUE;

  private final InProcessCoordinator coordinator = new InProcessCoordinator(Specs.parse("""
      pipeline: clicks
      heartbeat: {interval: 1s, timeout: 4s}
      stages:
        - {name: web, type: ingest, replicas: 2}
        - {name: app, type: ingest}
        - {name: buys, type: filter, from: [web, app], where: {field: $.action}}
      """));

  private InstanceClient web0;
  private InstanceClient web1;
  private InstanceClient app0;
  private InstanceClient buys0;

  @BeforeEach
  void registerEveryone() throws InterruptedException {
    web0 = source("web", 0);
    web1 = source("web", 1);
    app0 = source("app", 0);
    buys0 = coordinator.attach();
    buys0.registerAndAwait("buys", 0);
    buys0.nextRoutes();
    for (InstanceClient c : List.of(web0, web1, app0, buys0)) {
      c.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    }
    assertThat(coordinator.status().getState()).isEqualTo("running");
    for (InstanceClient c : List.of(web0, web1, app0, buys0)) {
      assertThat(alignments(c)).isEmpty(); // nobody reported a watermark: still unknown
    }
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    coordinator.close();
  }

  /** Registers a source instance: Registered, its routes, then the current (unknown) value. */
  private InstanceClient source(String stage, int index) throws InterruptedException {
    InstanceClient client = coordinator.attach();
    client.registerAndAwait(stage, index);
    client.nextRoutes();
    assertThat(client.nextAlignment()).isEqualTo(UNKNOWN);
    assertThat(client.pending()).isEmpty();
    return client;
  }

  /** The AlignWatermarks values the instance got since last asked, in order. */
  private static List<Long> alignments(InstanceClient client) {
    return client.pending().stream()
        .filter(Command::hasAlignWatermarks)
        .map(c -> c.getAlignWatermarks().getSlowestSourceWatermark())
        .toList();
  }

  @Test
  void everySourceIsToldTheSlowestOnceAllHaveReportedAndWheneverItChanges() {
    web0.reportWatermark(5_000, false);
    web1.reportWatermark(7_000, false);
    // app-0 has not reported yet: the slowest is unknown, nobody is held, nothing is sent.
    assertThat(alignments(web0)).isEmpty();
    assertThat(alignments(web1)).isEmpty();

    app0.reportWatermark(6_000, false);
    assertThat(alignments(web0)).containsExactly(5_000L);
    assertThat(alignments(web1)).containsExactly(5_000L);
    assertThat(alignments(app0)).containsExactly(5_000L);
    assertThat(alignments(buys0)).as("only sources are aligned").isEmpty();

    // The slowest source moves on: everyone hears the new minimum (app-0's).
    web0.reportWatermark(8_000, false);
    assertThat(alignments(web1)).containsExactly(6_000L);
    assertThat(alignments(app0)).containsExactly(6_000L);
    assertThat(alignments(web0)).containsExactly(6_000L);

    // Reports that leave the minimum where it is send nothing; nor do operators' watermarks.
    web0.reportWatermark(8_500, false);
    app0.reportWatermark(6_000, false);
    buys0.reportWatermark(1_000, false);
    for (InstanceClient c : List.of(web0, web1, app0, buys0)) {
      assertThat(alignments(c)).isEmpty();
    }
  }

  @Test
  void idleFinishedAndDeadSourcesStopHoldingTheOthersBack() {
    web0.reportWatermark(8_000, false);
    web1.reportWatermark(7_000, false);
    app0.reportWatermark(6_000, false);
    assertThat(alignments(web0)).containsExactly(6_000L);
    alignments(web1);
    alignments(app0);

    // Idle: left out, though still told (it is live and may become active again).
    app0.reportWatermark(6_000, true);
    assertThat(alignments(web0)).containsExactly(7_000L);
    assertThat(alignments(app0)).containsExactly(7_000L);
    app0.reportWatermark(6_500, false);
    assertThat(alignments(web0)).containsExactly(6_500L);
    assertThat(alignments(app0)).containsExactly(6_500L);
    alignments(web1);

    // Finished: left out and no longer told.
    app0.reportState(InstanceState.INSTANCE_STATE_FINISHED, "drained");
    assertThat(alignments(web0)).containsExactly(7_000L);
    assertThat(alignments(web1)).containsExactly(7_000L);
    assertThat(alignments(app0)).isEmpty();

    // Dead (missed heartbeats): left out, so web-0 is not held to web-1's last watermark.
    coordinator.ticker.advance(Duration.ofSeconds(3));
    web0.heartbeat();
    buys0.heartbeat();
    coordinator.ticker.advance(Duration.ofSeconds(3));
    web0.heartbeat();
    buys0.heartbeat();
    assertThat(coordinator.liveness.check()).hasSize(1);
    assertThat(coordinator.instanceStatus("web-1").getState())
        .isEqualTo(InstanceState.INSTANCE_STATE_DEAD);
    assertThat(alignments(web0)).containsExactly(8_000L);
    assertThat(alignments(web1)).isEmpty();

    // The last live source goes idle: no source is left, so the value is unknown (hold nothing).
    web0.reportWatermark(8_000, true);
    assertThat(alignments(web0)).containsExactly(UNKNOWN);
  }

  @Test
  void aCancelledSourceIsLeftOutAndItsReplacementMakesItUnknownUntilItReports()
      throws InterruptedException {
    web0.reportWatermark(5_000, false);
    web1.reportWatermark(7_000, false);
    app0.reportWatermark(6_000, false);
    alignments(web0);
    alignments(web1);
    alignments(app0);

    web0.cancel(); // the slowest source crashes
    assertThat(alignments(web1)).containsExactly(6_000L);
    assertThat(alignments(app0)).containsExactly(6_000L);

    // Its replacement has not reported: everyone is released (unknown) and it is told once.
    InstanceClient restarted = coordinator.attach();
    restarted.registerAndAwait("web", 0);
    restarted.nextRoutes();
    assertThat(alignments(restarted)).containsExactly(UNKNOWN);
    assertThat(alignments(web1)).containsExactly(UNKNOWN);
    assertThat(alignments(app0)).containsExactly(UNKNOWN);

    restarted.reportWatermark(6_200, false);
    assertThat(alignments(restarted)).containsExactly(6_000L);
    assertThat(alignments(web1)).containsExactly(6_000L);
    assertThat(alignments(app0)).containsExactly(6_000L);
  }
}
