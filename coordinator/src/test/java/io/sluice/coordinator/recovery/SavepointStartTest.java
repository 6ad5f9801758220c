package io.sluice.coordinator.recovery;

import static io.sluice.coordinator.testing.RunningPipeline.only;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.testing.InMemoryCheckpointStore;
import io.sluice.coordinator.testing.InProcessCoordinator;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.LogCapture;
import io.sluice.coordinator.testing.RunningPipeline;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Restore;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateHandle;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SavepointStartTest {
  /** per-user runs at 2 here; the savepoint was taken with 1. */
  private static final String SPEC = """
      pipeline: clicks
      checkpoints: {interval: 10s, dir: /srv/ckpt}
      stages:
        - {name: in, type: ingest}
        - {name: buys, type: filter, from: in}
        - {name: per-user, type: count, from: buys, replicas: 2}
      """;
  private static final StateHandle PER_USER =
      InMemoryCheckpointStore.handle(12, "per-user-0", 0, 128, 4096);
  private static final CheckpointMetadata SAVEPOINT = CheckpointMetadata.newBuilder()
      .setPipeline("clicks")
      .setCheckpointId(12)
      .setSavepoint(true)
      .setEpoch(3)
      .setMaxParallelism(128)
      .addStages(StageCheckpoint.newBuilder()
          .setStage("in")
          .setParallelism(1)
          .addState(InMemoryCheckpointStore.handle(12, "in-0", 0, 128, 10))
          .putSourcePositions("p1", 40))
      .addStages(StageCheckpoint.newBuilder()
          .setStage("per-user")
          .setParallelism(1)
          .addState(PER_USER))
      .build();

  private final InMemoryCheckpointStore store = new InMemoryCheckpointStore();
  private final InProcessCoordinator coordinator = new InProcessCoordinator(
      Specs.parse(SPEC), Optional.of(store), Optional.of(SAVEPOINT));

  @AfterEach
  void tearDown() throws InterruptedException {
    coordinator.close();
  }

  @Test
  void everyInstanceRestoresTheSavepointAtItsNewParallelismBeforeAnyRoute() throws Exception {
    assertThat(coordinator.status().getState()).isEqualTo("restoring");
    InstanceClient first = coordinator.attach();
    first.registerAndAwait("in", 0);
    assertThat(first.pendingKinds()).containsExactly(Command.KindCase.ALIGN_WATERMARKS);
    first.cancel(); // a death while waiting for registrations changes nothing

    RunningPipeline pipeline = RunningPipeline.reattach(coordinator, 0);
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.values()).extracting(Restore::getEpoch).containsOnly(2L);
    assertThat(restores.values()).extracting(Restore::getCheckpointId).containsOnly(12L);
    assertThat(restores.get("in-0").getSourcePositionsMap()).containsEntry("p1", 40L);
    assertThat(restores.get("buys-0").getStateList()).isEmpty();
    // Rescaled: each new instance gets every piece and keeps the key groups it owns now.
    assertThat(restores.get("per-user-0").getStateList()).containsExactly(PER_USER);
    assertThat(restores.get("per-user-1").getStateList()).containsExactly(PER_USER);
    assertThat(restores.get("per-user-1").getKeyGroups())
        .isEqualTo(KeyGroupRange.newBuilder().setStart(64).setEnd(128).build());
    assertThat(restores.get("per-user-1").getParallelism()).isEqualTo(2);

    pipeline.restoreDoneAll(2, 12);
    assertThat(pipeline.lastRoutes().values()).extracting(RouteUpdate::getEpoch).containsOnly(2L);
    assertThat(coordinator.lifecycle.state()).isEqualTo(PipelineState.RUNNING);

    // Numbered above the savepoint: the sinks' transactions in it carry numbers up to 12.
    coordinator.scheduler.advance(Duration.ofSeconds(10));
    assertThat(only(pipeline.get("in-0").pending(), Command.KindCase.TRIGGER_CHECKPOINT)
        .getTriggerCheckpoint().getCheckpointId()).isEqualTo(13);
  }

  @Test
  void aDeathBeforeTheFirstCheckpointRestoresTheSavepointAgain() throws Exception {
    RunningPipeline pipeline = RunningPipeline.reattach(coordinator, 0);
    pipeline.restores();
    pipeline.restoreDoneAll(2, 12);
    pipeline.drain();
    pipeline.kill("buys-0");
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.keySet()).containsExactly("in-0", "per-user-0", "per-user-1");
    assertThat(restores.values()).extracting(Restore::getCheckpointId).containsOnly(12L);
    assertThat(restores.values()).extracting(Restore::getEpoch).containsOnly(3L);
    assertThat(List.copyOf(restores.values()).get(0).getStateList()).isNotEmpty();
  }

  @Test
  void aFailedRestoreOfTheSavepointWaitsForThatInstanceRatherThanDroppingTheState()
      throws Exception {
    RunningPipeline pipeline = RunningPipeline.reattach(coordinator, 0);
    pipeline.restores();
    try (LogCapture log = LogCapture.of(RecoveryCoordinator.class)) {
      pipeline.get("per-user-1").restoreDone(2, 12, "savepoint-12/per-user-0.state: truncated");
      assertThat(log.lines()).anyMatch(line -> line.startsWith("WARNING: per-user-1 could not"
          + " restore savepoint 12 (epoch 2): savepoint-12/per-user-0.state: truncated; the run"
          + " started from it, so there is nothing older to fall back to: restart per-user-1"));
    }
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);

    // Its supervisor restarts it: the pipeline restores the savepoint again, at a new epoch.
    pipeline.kill("per-user-1");
    InstanceClient again = coordinator.attach();
    again.registerAndAwait("per-user", 1);
    pipeline.put("per-user-1", again);
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.keySet()).containsExactlyElementsOf(pipeline.ids());
    assertThat(restores.values()).extracting(Restore::getCheckpointId).containsOnly(12L);
    assertThat(restores.values()).extracting(Restore::getEpoch).containsOnly(3L);
  }
}
