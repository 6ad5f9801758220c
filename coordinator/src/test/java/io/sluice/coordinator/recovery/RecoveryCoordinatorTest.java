package io.sluice.coordinator.recovery;

import static io.sluice.coordinator.testing.RunningPipeline.all;
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
import io.sluice.proto.v1.DrainRequest;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Restore;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.StageCheckpoint;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RecoveryCoordinatorTest {
  private static final String SPEC = """
      pipeline: clicks
      checkpoints: {interval: 10s, timeout: 30s, keep: 3, dir: /srv/ckpt}
      stages:
        - {name: in, type: ingest, replicas: 2}
        - {name: buys, type: filter, from: in}
        - {name: per-user, type: count, from: buys, replicas: 2}
      """;
  private static final Duration INTERVAL = Duration.ofSeconds(10);

  private final InMemoryCheckpointStore store = new InMemoryCheckpointStore();
  private InProcessCoordinator coordinator = new InProcessCoordinator(Specs.parse(SPEC), store);

  @AfterEach
  void tearDown() throws InterruptedException {
    coordinator.close();
  }

  private static KeyGroupRange range(int start, int end) {
    return KeyGroupRange.newBuilder().setStart(start).setEnd(end).build();
  }

  /** Takes checkpoint {@code id} to completion at {@code epoch}. */
  private void completeCheckpoint(RunningPipeline pipeline, long id, long epoch) {
    coordinator.scheduler.advance(INTERVAL);
    assertThat(only(pipeline.get("in-0").pending(), Command.KindCase.TRIGGER_CHECKPOINT)
        .getTriggerCheckpoint().getCheckpointId()).isEqualTo(id);
    pipeline.ackAll(id, epoch);
    assertThat(store.checkpoint(id)).isPresent();
    pipeline.drain();
  }

  /** Kills an instance (its stream breaks) and brings up a fresh process in its place. */
  private InstanceClient restart(RunningPipeline pipeline, String instanceId) throws Exception {
    pipeline.get(instanceId).cancel();
    return reregister(pipeline, instanceId, 0);
  }

  private InstanceClient reregister(RunningPipeline pipeline, String instanceId, long epoch)
      throws Exception {
    int dash = instanceId.lastIndexOf('-');
    InstanceClient client = coordinator.attach();
    client.register(instanceId.substring(0, dash), Integer.parseInt(instanceId.substring(dash + 1)),
        epoch);
    assertThat(client.next().hasRegistered()).isTrue();
    pipeline.put(instanceId, client);
    return client;
  }

  @Test
  void deathDuringACheckpointAbortsItAndRestoresEveryLiveInstance() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    completeCheckpoint(pipeline, 1, 1);
    coordinator.scheduler.advance(INTERVAL);
    pipeline.drain();
    pipeline.get("in-0").ack(pipeline.ackOf("in-0", 2, 1));

    pipeline.get("buys-0").cancel();

    assertThat(store.discarded()).containsExactly(2L);
    CheckpointMetadata one = store.checkpoint(1).orElseThrow();
    Map<String, List<Command>> sent = pipeline.drain();
    for (String id : List.of("in-0", "in-1", "per-user-0", "per-user-1")) {
      // No routes around the dead instance: only the abort, then the restore.
      assertThat(sent.get(id)).as(id).extracting(Command::getKindCase).containsExactly(
          Command.KindCase.ABORT_CHECKPOINT, Command.KindCase.RESTORE);
    }
    Restore in1 = only(sent.get("in-1"), Command.KindCase.RESTORE).getRestore();
    assertThat(in1).isEqualTo(Restore.newBuilder()
        .setEpoch(2)
        .setCheckpointId(1)
        .addAllState(InMemoryCheckpointStore.handles(one, "in"))
        .putSourcePositions("p1", 11)
        .putSourcePositions("p2", 20)
        .setKeyGroups(range(64, 128))
        .setParallelism(2)
        .build());
    Restore pu0 = only(sent.get("per-user-0"), Command.KindCase.RESTORE).getRestore();
    assertThat(pu0.getStateList()).isEqualTo(InMemoryCheckpointStore.handles(one, "per-user"));
    assertThat(pu0.getSourcePositionsMap()).isEmpty();
    assertThat(pu0.getKeyGroups()).isEqualTo(range(0, 64));
    assertThat(coordinator.status().getState()).isEqualTo("restoring");
    assertThat(coordinator.recovery().epoch()).isEqualTo(2);
  }

  @Test
  void routesAreHeldUntilEveryInstanceRestoredThenCarryTheNewEpoch() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    completeCheckpoint(pipeline, 1, 1);
    InstanceClient buys = restart(pipeline, "buys-0");
    buys.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    // Every live instance, and the process that registered during the restore (after its
    // Registered), gets its Restore; none gets routes.
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.keySet()).containsExactlyElementsOf(pipeline.ids());
    Restore restore = restores.get("buys-0");
    assertThat(restore.getEpoch()).isEqualTo(2);
    assertThat(restore.getCheckpointId()).isEqualTo(1);
    assertThat(restore.getStateList())
        .isEqualTo(InMemoryCheckpointStore.handles(store.checkpoint(1).orElseThrow(), "buys"));

    pipeline.get("in-0").restoreDone(1, 1, ""); // an older epoch: ignored
    for (String id : List.of("in-0", "in-1", "buys-0", "per-user-0")) {
      pipeline.get(id).restoreDone(2, 1, "");
    }
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);
    assertThat(coordinator.lifecycle.state()).isEqualTo(PipelineState.RESTORING);

    pipeline.get("per-user-1").restoreDone(2, 1, "");
    Map<String, RouteUpdate> routes = pipeline.lastRoutes();
    assertThat(routes.keySet()).containsExactlyElementsOf(pipeline.ids());
    assertThat(routes.values()).extracting(RouteUpdate::getEpoch).containsOnly(2L);
    assertThat(coordinator.lifecycle.state()).isEqualTo(PipelineState.RUNNING);

    // Checkpoints go on at the new epoch; an ack of the old one does not count.
    coordinator.scheduler.advance(INTERVAL);
    long next = only(pipeline.get("in-0").pending(), Command.KindCase.TRIGGER_CHECKPOINT)
        .getTriggerCheckpoint().getCheckpointId();
    assertThat(next).isEqualTo(2);
    pipeline.ackAll(2, 1);
    assertThat(store.checkpoint(2)).isEmpty();
    pipeline.ackAll(2, 2);
    assertThat(store.checkpoint(2).orElseThrow().getEpoch()).isEqualTo(2);
  }

  @Test
  void aFailedRestoreFallsBackToTheCheckpointBefore() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    completeCheckpoint(pipeline, 1, 1);
    completeCheckpoint(pipeline, 2, 1);
    InstanceClient buys = restart(pipeline, "buys-0");
    buys.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    assertThat(pipeline.restores().values()).extracting(Restore::getCheckpointId).containsOnly(2L);

    try (LogCapture log = LogCapture.of(RecoveryCoordinator.class)) {
      pipeline.get("in-0").restoreDone(2, 2, "");
      pipeline.get("per-user-1").restoreDone(2, 2, "chk-2/per-user-1.state: checksum mismatch");
      assertThat(log.lines()).anyMatch(line -> line.startsWith("WARNING: per-user-1 could not"
          + " restore checkpoint 2 (epoch 2): chk-2/per-user-1.state: checksum mismatch"));
    }
    Map<String, Restore> again = pipeline.restores();
    assertThat(again.values()).extracting(Restore::getEpoch).containsOnly(3L);
    assertThat(again.values()).extracting(Restore::getCheckpointId).containsOnly(1L);

    // Answers to the abandoned epoch do not count.
    pipeline.restoreDoneAll(2, 2);
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);
    pipeline.restoreDoneAll(3, 1);
    assertThat(pipeline.lastRoutes().values()).extracting(RouteUpdate::getEpoch).containsOnly(3L);

    // Checkpoint 2 stays unused for the rest of the run: the next restore takes 1 again.
    restart(pipeline, "in-1");
    assertThat(pipeline.restores().values()).extracting(Restore::getCheckpointId)
        .containsOnly(1L);
  }

  @Test
  void aSecondDeathDuringARestoreStartsItOverWithANewEpoch() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    completeCheckpoint(pipeline, 1, 1);
    restart(pipeline, "buys-0");
    pipeline.restores();
    pipeline.get("in-0").restoreDone(2, 1, "");

    coordinator.ticker.advance(Duration.ofSeconds(6)); // per-user-1 stays silent
    for (String id : List.of("in-0", "in-1", "buys-0", "per-user-0")) {
      pipeline.get(id).heartbeat();
    }
    assertThat(coordinator.liveness.check()).extracting(i -> i.instanceId())
        .containsExactly("per-user-1");
    Map<String, List<Command>> sent = pipeline.drain();
    for (String id : List.of("in-0", "in-1", "buys-0", "per-user-0")) {
      assertThat(only(sent.get(id), Command.KindCase.RESTORE).getRestore().getEpoch())
          .isEqualTo(3);
      assertThat(all(sent.get(id), Command.KindCase.ROUTES)).isEmpty();
    }
    assertThat(coordinator.recovery().epoch()).isEqualTo(3);
  }

  @Test
  void aCorruptNewestCheckpointIsSkipped() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    completeCheckpoint(pipeline, 1, 1);
    completeCheckpoint(pipeline, 2, 1);
    store.corruptState(2);
    restart(pipeline, "per-user-0");
    assertThat(pipeline.restores().values()).extracting(Restore::getCheckpointId)
        .containsOnly(1L);
  }

  @Test
  void withNothingCompletedTheEmptyStateIsRestored() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    restart(pipeline, "in-1");
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.values()).extracting(Restore::getCheckpointId).containsOnly(0L);
    assertThat(restores.values()).allMatch(r -> r.getStateCount() == 0 && r.getEpoch() == 2);
  }

  @Test
  void aRestartedCoordinatorRestoresTheWholePipelineFromTheNewest() throws Exception {
    store.with(checkpoint(4, 2)).with(checkpoint(5, 3));
    coordinator.close();
    coordinator = new InProcessCoordinator(Specs.parse(SPEC), store);

    // The instances survived the coordinator; they register again with their epoch.
    RunningPipeline pipeline = RunningPipeline.reattach(coordinator, 3);
    assertThat(coordinator.status().getState()).isEqualTo("restoring");
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.keySet()).containsExactlyElementsOf(pipeline.ids());
    assertThat(restores.values()).extracting(Restore::getEpoch).containsOnly(4L);
    assertThat(restores.values()).extracting(Restore::getCheckpointId).containsOnly(5L);

    pipeline.restoreDoneAll(4, 5);
    assertThat(pipeline.lastRoutes().values()).extracting(RouteUpdate::getEpoch).containsOnly(4L);
    coordinator.scheduler.advance(INTERVAL);
    assertThat(only(pipeline.get("in-0").pending(), Command.KindCase.TRIGGER_CHECKPOINT)
        .getTriggerCheckpoint().getCheckpointId()).isEqualTo(6);
  }

  @Test
  void aRestartedCoordinatorGoesAboveTheEpochsTheInstancesReport() throws Exception {
    store.with(checkpoint(5, 3));
    coordinator.close();
    coordinator = new InProcessCoordinator(Specs.parse(SPEC), store);
    RunningPipeline pipeline = RunningPipeline.reattach(coordinator, 7);
    assertThat(pipeline.restores().values()).extracting(Restore::getEpoch).containsOnly(8L);
  }

  @Test
  void aFreshStartDoesNotRestoreWhatAnEarlierRunLeft() throws Exception {
    store.with(checkpoint(5, 3));
    coordinator.close();
    coordinator = new InProcessCoordinator(Specs.parse(SPEC), store);
    RunningPipeline pipeline = RunningPipeline.start(coordinator); // epoch 0 everywhere: fresh
    restart(pipeline, "buys-0");
    Map<String, Restore> restores = pipeline.restores();
    assertThat(restores.values()).extracting(Restore::getCheckpointId).containsOnly(0L);
    assertThat(restores.values()).extracting(Restore::getEpoch).containsOnly(2L);
  }

  @Test
  void noRestoreWhileDraining() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    completeCheckpoint(pipeline, 1, 1);
    coordinator.admin.drain(DrainRequest.newBuilder().setReason("test").build());
    pipeline.drain();
    pipeline.get("per-user-1").cancel();
    assertThat(pipeline.drain().values())
        .allMatch(commands -> commands.stream().noneMatch(Command::hasRestore));
    assertThat(coordinator.status().getState()).isEqualTo("degraded");
    assertThat(coordinator.recovery().epoch()).isEqualTo(1);
  }

  private static CheckpointMetadata checkpoint(long id, long epoch) {
    return CheckpointMetadata.newBuilder()
        .setPipeline("clicks")
        .setCheckpointId(id)
        .setEpoch(epoch)
        .setMaxParallelism(128)
        .addStages(StageCheckpoint.newBuilder()
            .setStage("per-user")
            .setParallelism(2)
            .addState(InMemoryCheckpointStore.handle(id, "per-user-0", 0, 64, 10))
            .addState(InMemoryCheckpointStore.handle(id, "per-user-1", 64, 128, 10)))
        .build();
  }
}
