package io.sluice.coordinator.checkpoint;

import static io.sluice.coordinator.testing.RunningPipeline.all;
import static io.sluice.coordinator.testing.RunningPipeline.only;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.coordinator.testing.FakeTicker;
import io.sluice.coordinator.testing.InMemoryCheckpointStore;
import io.sluice.coordinator.testing.InProcessCoordinator;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.RunningPipeline;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.CheckpointMode;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.DrainRequest;
import io.sluice.proto.v1.ListCheckpointsRequest;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.TriggerCheckpoint;
import io.sluice.proto.v1.TriggerSavepointRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CheckpointCoordinatorTest {
  private static final String SPEC = """
      pipeline: clicks
      checkpoints: {interval: 10s, timeout: 30s, keep: 2, dir: /srv/ckpt}
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

  /** Moves to the next trigger; returns the TriggerCheckpoint every source got (the same). */
  private TriggerCheckpoint nextTrigger(RunningPipeline pipeline) {
    coordinator.scheduler.advance(INTERVAL);
    Map<String, List<Command>> sent = pipeline.drain();
    TriggerCheckpoint trigger = null;
    for (String id : pipeline.ids()) {
      List<Command> triggers = all(sent.get(id), Command.KindCase.TRIGGER_CHECKPOINT);
      if (pipeline.sourceIds().contains(id)) {
        assertThat(triggers).as("trigger to %s", id).hasSize(1);
        trigger = triggers.get(0).getTriggerCheckpoint();
      } else {
        assertThat(triggers).as("no trigger to %s, which is not a source", id).isEmpty();
      }
    }
    return trigger;
  }

  @Test
  void triggersEveryIntervalAndCompletesOnceEveryInstanceAcked() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    long startMillis = coordinator.ticker.clock().millis();

    coordinator.scheduler.advance(INTERVAL.minusMillis(1));
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);
    coordinator.scheduler.advance(Duration.ofMillis(1));
    Map<String, List<Command>> sent = pipeline.drain();
    TriggerCheckpoint trigger =
        only(sent.get("in-0"), Command.KindCase.TRIGGER_CHECKPOINT).getTriggerCheckpoint();
    assertThat(trigger.getCheckpointId()).isEqualTo(1);
    assertThat(trigger.getSavepoint()).isFalse();
    assertThat(trigger.getTimestamp()).isEqualTo(startMillis + 10_000);
    assertThat(only(sent.get("in-1"), Command.KindCase.TRIGGER_CHECKPOINT).getTriggerCheckpoint())
        .isEqualTo(trigger);
    assertThat(sent.get("buys-0")).isEmpty();
    assertThat(coordinator.status().getLastCheckpoint().getCheckpointId()).isZero();

    coordinator.scheduler.advance(Duration.ofMillis(250));
    for (String id : List.of("in-0", "in-1", "buys-0", "per-user-0")) {
      pipeline.get(id).ack(pipeline.ackOf(id, 1, 1));
    }
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);
    assertThat(store.checkpoint(1)).isEmpty();

    pipeline.get("per-user-1").ack(pipeline.ackOf("per-user-1", 1, 1));
    for (List<Command> commands : pipeline.drain().values()) {
      assertThat(only(commands, Command.KindCase.COMPLETE_CHECKPOINT)
          .getCompleteCheckpoint().getCheckpointId()).isEqualTo(1);
    }
    CheckpointMetadata meta = store.checkpoint(1).orElseThrow();
    assertThat(meta.getPipeline()).isEqualTo("clicks");
    assertThat(meta.getSavepoint()).isFalse();
    assertThat(meta.getMaxParallelism()).isEqualTo(128);
    assertThat(meta.getEpoch()).isEqualTo(1);
    assertThat(meta.getTriggeredAtMillis()).isEqualTo(startMillis + 10_000);
    assertThat(meta.getCompletedAtMillis()).isEqualTo(startMillis + 10_250);
    assertThat(meta.getStagesList())
        .extracting(StageCheckpoint::getStage, StageCheckpoint::getParallelism)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("in", 2),
            org.assertj.core.groups.Tuple.tuple("buys", 1),
            org.assertj.core.groups.Tuple.tuple("per-user", 2));
    assertThat(InMemoryCheckpointStore.handles(meta, "per-user")).containsExactly(
        pipeline.ackOf("per-user-0", 1, 1).getState(0),
        pipeline.ackOf("per-user-1", 1, 1).getState(0));
    // Per producer, the highest position over the source's instances.
    assertThat(meta.getStages(0).getSourcePositionsMap()).containsExactlyInAnyOrderEntriesOf(
        Map.of("p1", 11L, "p2", 20L));
    assertThat(meta.getStages(2).getSourcePositionsMap()).isEmpty();
    assertThat(store.retainCalls()).containsExactly(2);

    CheckpointInfo last = coordinator.status().getLastCheckpoint();
    assertThat(last.getCheckpointId()).isEqualTo(1);
    assertThat(last.getState()).isEqualTo("completed");
    assertThat(last.getDurationMillis()).isEqualTo(250);
    assertThat(last.getSizeBytes()).isEqualTo(500);
    assertThat(last.getLocation()).isEqualTo("/srv/ckpt/clicks/chk-1");
    CheckpointStats stats = coordinator.checkpoints().lastFinished().orElseThrow();
    assertThat(stats.maxAlignmentMillis()).isEqualTo(20);

    // And on: the next interval triggers checkpoint 2.
    assertThat(nextTrigger(pipeline).getCheckpointId()).isEqualTo(2);
  }

  @Test
  void registeredCarriesTheCheckpointSettingsAndRoutesCarryEpochOne() throws Exception {
    InstanceClient in = coordinator.attach();
    Registered registered = in.registerAndAwait("in", 0);
    assertThat(registered.getCheckpoints().getStorageDir()).isEqualTo("/srv/ckpt/clicks");
    assertThat(registered.getCheckpoints().getMode())
        .isEqualTo(CheckpointMode.CHECKPOINT_MODE_EXACTLY_ONCE);
    assertThat(in.nextRoutes().getEpoch()).isEqualTo(1);
  }

  @Test
  void numbersOnFromTheStoreAndNeverUsesANumberTwice() throws Exception {
    store.with(CheckpointMetadata.newBuilder().setCheckpointId(7).setEpoch(1).build());
    coordinator.close();
    coordinator = new InProcessCoordinator(Specs.parse(SPEC), store);
    RunningPipeline pipeline = RunningPipeline.start(coordinator);

    assertThat(nextTrigger(pipeline).getCheckpointId()).isEqualTo(8);
    pipeline.get("buys-0").decline(8, "disk full");
    assertThat(store.discarded()).containsExactly(8L);
    // The store forgot 8 with its files; the coordinator does not.
    assertThat(nextTrigger(pipeline).getCheckpointId()).isEqualTo(9);
  }

  @Test
  void timesOutAndAbortsThenTriesAgain() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    nextTrigger(pipeline);
    for (String id : List.of("in-0", "in-1", "buys-0")) {
      pipeline.get(id).ack(pipeline.ackOf(id, 1, 1));
    }
    // One at a time: the intervals while it is in flight trigger nothing.
    coordinator.scheduler.advance(Duration.ofSeconds(29));
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);

    coordinator.scheduler.advance(Duration.ofSeconds(1));
    for (List<Command> commands : pipeline.drain().values()) {
      Command abort = only(commands, Command.KindCase.ABORT_CHECKPOINT);
      assertThat(abort.getAbortCheckpoint().getCheckpointId()).isEqualTo(1);
      assertThat(abort.getAbortCheckpoint().getReason())
          .isEqualTo("not complete within 30000 ms (no ack from per-user-0, per-user-1)");
    }
    assertThat(store.discarded()).containsExactly(1L);
    assertThat(store.checkpoint(1)).isEmpty();
    CheckpointInfo last = coordinator.status().getLastCheckpoint();
    assertThat(last.getState()).isEqualTo("aborted");
    assertThat(last.getDurationMillis()).isEqualTo(30_000);
    assertThat(last.getFailureReason()).contains("no ack from per-user-0, per-user-1");

    // Late acks of the aborted checkpoint change nothing.
    pipeline.ackAll(1, 1);
    assertThat(store.checkpoint(1)).isEmpty();
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);

    assertThat(nextTrigger(pipeline).getCheckpointId()).isEqualTo(2);
  }

  @Test
  void aDeclineAbortsAtOnce() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    nextTrigger(pipeline);
    pipeline.get("per-user-1").decline(1, "state too large to write");
    for (List<Command> commands : pipeline.drain().values()) {
      assertThat(only(commands, Command.KindCase.ABORT_CHECKPOINT).getAbortCheckpoint()
          .getReason()).isEqualTo("declined by per-user-1: state too large to write");
    }
    assertThat(store.discarded()).containsExactly(1L);
    assertThat(coordinator.checkpoints().lastFinished().orElseThrow().state())
        .isEqualTo(CheckpointStats.State.ABORTED);
  }

  @Test
  void ignoresAcksOfOtherCheckpointsAndStaleEpochs() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    nextTrigger(pipeline);
    for (String id : pipeline.ids()) {
      pipeline.get(id).ack(pipeline.ackOf(id, 2, 1)); // another checkpoint
      pipeline.get(id).ack(pipeline.ackOf(id, 1, 0)); // an older epoch
    }
    assertThat(store.checkpoint(1)).isEmpty();
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);
    pipeline.ackAll(1, 1);
    assertThat(store.checkpoint(1)).isPresent();
  }

  @Test
  void noCheckpointWhileStartingOrDraining() throws Exception {
    InstanceClient in = coordinator.attach();
    in.registerAndAwait("in", 0);
    coordinator.scheduler.advance(INTERVAL.multipliedBy(3));
    assertThat(in.pending()).noneMatch(Command::hasTriggerCheckpoint);
    in.cancel();
    coordinator.close();

    coordinator = new InProcessCoordinator(Specs.parse(SPEC), store);
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    coordinator.admin.drain(DrainRequest.newBuilder().setReason("test").build());
    pipeline.drain();
    coordinator.scheduler.advance(INTERVAL.multipliedBy(3));
    assertThat(pipeline.drain().values())
        .allMatch(commands -> commands.stream().noneMatch(Command::hasTriggerCheckpoint));
    assertThat(store.highestCheckpointId()).isZero();
  }

  @Test
  void retentionIsAskedForAfterEveryCompletion() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    for (long id = 1; id <= 3; id++) {
      assertThat(nextTrigger(pipeline).getCheckpointId()).isEqualTo(id);
      pipeline.ackAll(id, 1);
      pipeline.drain();
    }
    assertThat(store.retainCalls()).containsExactly(2, 2, 2);
    assertThat(store.completed()).extracting(CheckpointMetadata::getCheckpointId)
        .containsExactly(2L, 3L);
    assertThat(coordinator.admin.listCheckpoints(ListCheckpointsRequest.getDefaultInstance())
        .getCheckpointsList())
        .extracting(CheckpointInfo::getCheckpointId, CheckpointInfo::getState)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(2L, "completed"),
            org.assertj.core.groups.Tuple.tuple(3L, "completed"));
  }

  @Test
  void listShowsTheKeptTheAbortedAndTheOneInFlight() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    nextTrigger(pipeline);
    pipeline.ackAll(1, 1);
    nextTrigger(pipeline);
    pipeline.get("in-0").decline(2, "no space");
    nextTrigger(pipeline);
    List<CheckpointInfo> list = coordinator.admin
        .listCheckpoints(ListCheckpointsRequest.getDefaultInstance()).getCheckpointsList();
    assertThat(list).extracting(CheckpointInfo::getCheckpointId, CheckpointInfo::getState,
        CheckpointInfo::getFailureReason).containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, "completed", ""),
            org.assertj.core.groups.Tuple.tuple(2L, "aborted", "declined by in-0: no space"),
            org.assertj.core.groups.Tuple.tuple(3L, "in_progress", ""));
    assertThat(list.get(0).getSizeBytes()).isEqualTo(500);
    assertThat(list.get(0).getTriggeredAtMillis())
        .isEqualTo(FakeTicker.EPOCH_MILLIS_AT_START + 10_000);
  }

  /** Calls TriggerSavepoint without blocking: the answer comes once the instances acked. */
  private CompletableFuture<CheckpointInfo> savepoint(String target) {
    CompletableFuture<CheckpointInfo> answer = new CompletableFuture<>();
    coordinator.adminAsync.triggerSavepoint(
        TriggerSavepointRequest.newBuilder().setTarget(target).build(),
        new StreamObserver<>() {
          @Override
          public void onNext(CheckpointInfo info) {
            answer.complete(info);
          }

          @Override
          public void onError(Throwable t) {
            answer.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    return answer;
  }

  private static Status statusOf(CompletableFuture<?> answer) {
    assertThat(answer).isCompletedExceptionally();
    try {
      answer.get(0, TimeUnit.SECONDS);
      throw new AssertionError("not failed");
    } catch (Exception e) {
      return Status.fromThrowable(e.getCause());
    }
  }

  @Test
  void savepointThroughAdminIsStoredAsASavepointAndNeverPruned() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    CompletableFuture<CheckpointInfo> answer = savepoint("");
    Map<String, List<Command>> sent = pipeline.drain();
    TriggerCheckpoint trigger =
        only(sent.get("in-0"), Command.KindCase.TRIGGER_CHECKPOINT).getTriggerCheckpoint();
    assertThat(trigger.getSavepoint()).isTrue();
    assertThat(trigger.getCheckpointId()).isEqualTo(1);
    assertThat(answer).isNotDone();

    pipeline.ackAll(1, 1);
    CheckpointInfo info = answer.get(0, TimeUnit.SECONDS);
    assertThat(info.getCheckpointId()).isEqualTo(1);
    assertThat(info.getSavepoint()).isTrue();
    assertThat(info.getState()).isEqualTo("completed");
    assertThat(info.getLocation()).isEqualTo("/srv/ckpt/clicks/savepoint-1");
    assertThat(store.savepoint(1).orElseThrow().getSavepoint()).isTrue();
    assertThat(pipeline.drain().get("buys-0"))
        .extracting(Command::getKindCase).containsExactly(Command.KindCase.COMPLETE_CHECKPOINT);

    for (long id = 2; id <= 4; id++) {
      nextTrigger(pipeline);
      pipeline.ackAll(id, 1);
    }
    assertThat(store.savepoint(1)).isPresent();
    assertThat(coordinator.admin.listCheckpoints(ListCheckpointsRequest.getDefaultInstance())
        .getCheckpointsList())
        .extracting(CheckpointInfo::getCheckpointId, CheckpointInfo::getSavepoint)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, true),
            org.assertj.core.groups.Tuple.tuple(3L, false),
            org.assertj.core.groups.Tuple.tuple(4L, false));
  }

  @Test
  void savepointAskedForDuringACheckpointFollowsIt() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    nextTrigger(pipeline);
    CompletableFuture<CheckpointInfo> answer = savepoint("");
    assertThat(pipeline.drain().values()).allMatch(List::isEmpty);

    pipeline.ackAll(1, 1);
    Map<String, List<Command>> sent = pipeline.drain();
    assertThat(sent.get("in-0")).extracting(Command::getKindCase).containsExactly(
        Command.KindCase.COMPLETE_CHECKPOINT, Command.KindCase.TRIGGER_CHECKPOINT);
    TriggerCheckpoint trigger = sent.get("in-0").get(1).getTriggerCheckpoint();
    assertThat(trigger.getCheckpointId()).isEqualTo(2);
    assertThat(trigger.getSavepoint()).isTrue();
    pipeline.ackAll(2, 1);
    assertThat(answer.get(0, TimeUnit.SECONDS).getCheckpointId()).isEqualTo(2);
  }

  @Test
  void abortedSavepointAnswersAborted() throws Exception {
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    CompletableFuture<CheckpointInfo> answer = savepoint("");
    pipeline.get("buys-0").decline(1, "cannot write");
    Status status = statusOf(answer);
    assertThat(status.getCode()).isEqualTo(Status.Code.ABORTED);
    assertThat(status.getDescription())
        .isEqualTo("savepoint 1 was aborted: declined by buys-0: cannot write; try again");
  }

  @Test
  void savepointNeedsARunningPipelineAndTheConfiguredStore() throws Exception {
    InstanceClient in = coordinator.attach();
    in.registerAndAwait("in", 0);
    Status notRunning = statusOf(savepoint(""));
    assertThat(notRunning.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(notRunning.getDescription()).startsWith("cannot take a savepoint now: the pipeline"
        + " is not running");
    Status target = statusOf(savepoint("/elsewhere"));
    assertThat(target.getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(target.getDescription())
        .contains("kept in the checkpoint store, as /srv/ckpt/clicks/savepoint-<n>");
  }
}
