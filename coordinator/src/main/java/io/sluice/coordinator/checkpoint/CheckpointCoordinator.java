package io.sluice.coordinator.checkpoint;

import io.sluice.coordinator.control.CommandBus;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.CheckpointSpec;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.AbortCheckpoint;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointDecline;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.CompleteCheckpoint;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateHandle;
import io.sluice.proto.v1.TriggerCheckpoint;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Takes the pipeline's checkpoints (docs/checkpoints.md, "The checkpoint, step by step").
 *
 * <p>Every {@code checkpoints.interval}, when the pipeline is ready (running, no restore, no
 * drain: the {@code pipelineReady} given) and every expected instance — indices below each
 * stage's desired parallelism — is running, and no checkpoint is in flight: picks the next
 * number (above {@link CheckpointStore#highestCheckpointId()} and above every number this
 * coordinator used) and sends {@code TriggerCheckpoint} to every live source instance. It then
 * waits for a {@code CheckpointAck} of that number, at the current epoch, from each expected
 * instance (the registration it had at the trigger). With the last ack it stores the {@link
 * CheckpointMetadata} ({@link CheckpointStore#complete}), sends {@code CompleteCheckpoint} to every
 * live instance and prunes the store to {@code checkpoints.keep}.
 *
 * <p>A checkpoint is aborted — {@code AbortCheckpoint} to every live instance, its files
 * discarded — when it is not complete within {@code checkpoints.timeout}, when an instance
 * declines it, when an expected instance dies, when its metadata cannot be stored, and when a
 * restore starts ({@link #abort}).
 *
 * <p>Savepoints ({@link #triggerSavepoint}) are checkpoints with the savepoint flag: stored apart
 * and never pruned. A request made while a checkpoint is in flight waits for it to end.
 *
 * <p>Threading: confined to the {@link CoordinatorThread} (timeouts and the periodic trigger run
 * there). Methods that say "coordinator thread" must be called on it; the others may be called
 * from any thread. Store I/O happens on the coordinator thread, never on a gRPC callback.
 */
public final class CheckpointCoordinator {
  private static final System.Logger LOG = System.getLogger(CheckpointCoordinator.class.getName());

  private final PipelineSpec spec;
  private final CheckpointSpec settings;
  private final InstanceRegistry registry;
  private final CheckpointStore store;
  private final CommandBus bus;
  private final CoordinatorThread thread;
  private final Clock clock;
  private final BooleanSupplier pipelineReady;
  private final LongSupplier epoch;
  private final Path storageDir;
  private final CheckpointHistory history = new CheckpointHistory();
  private final List<Consumer<CheckpointStats>> finishListeners = new CopyOnWriteArrayList<>();

  // Coordinator thread only (written before start() otherwise, which publishes it).
  private long lastId;
  private PendingCheckpoint pending;
  private final List<CompletableFuture<CheckpointMetadata>> queuedSavepoints = new ArrayList<>();

  /**
   * @param spec a pipeline with a {@code checkpoints:} section
   * @param store where checkpoints go
   * @param bus where commands go
   * @param coordinatorThread runs everything this class does: handed-over reports, timeouts, the
   *     periodic trigger
   * @param clock wall time for the metadata's timestamps and the durations
   * @param pipelineReady whether checkpoints may be taken now (the pipeline is running, no
   *     restore holds the routes, no drain); called on the coordinator thread
   * @param epoch the current restore epoch; acks of another epoch are stale
   */
  public CheckpointCoordinator(
      PipelineSpec spec,
      InstanceRegistry registry,
      CheckpointStore store,
      CommandBus bus,
      CoordinatorThread coordinatorThread,
      Clock clock,
      BooleanSupplier pipelineReady,
      LongSupplier epoch) {
    this.spec = spec;
    this.settings = spec.checkpoints().orElseThrow(() -> new IllegalArgumentException(
        "pipeline '" + spec.name() + "' has no 'checkpoints:' section"));
    this.registry = registry;
    this.store = store;
    this.bus = bus;
    this.thread = coordinatorThread;
    this.clock = clock;
    this.pipelineReady = pipelineReady;
    this.epoch = epoch;
    this.storageDir = settings.storageDir(spec.name());
  }

  /**
   * Numbers every later checkpoint above {@code checkpointId} (the savepoint a pipeline starts
   * from: its sinks' transactions carry numbers up to it). Call before {@link #start}.
   */
  public void numberAbove(long checkpointId) {
    lastId = Math.max(lastId, checkpointId);
  }

  /**
   * Adds a listener told of every checkpoint and savepoint of this run as it completes or aborts
   * (its final {@link CheckpointStats}), on the coordinator thread: for metrics and the error
   * log. It must not block. Any thread; add listeners before {@link #start}.
   */
  public void addFinishListener(Consumer<CheckpointStats> listener) {
    finishListeners.add(listener);
  }

  /** Starts the periodic trigger on the coordinator thread. Any thread; call once. */
  public void start() {
    thread.every("the checkpoint trigger", this::tick, settings.interval());
  }

  /**
   * Asks for a savepoint. Any thread. Taken at once when nothing is in flight, else right after
   * the checkpoint in flight ends.
   *
   * @return completes with the savepoint's metadata once stored; fails with {@link
   *     IllegalStateException} when the pipeline cannot take one now (not running, restoring,
   *     draining), or {@link CheckpointFailedException} when it was aborted
   */
  public CompletableFuture<CheckpointMetadata> triggerSavepoint() {
    CompletableFuture<CheckpointMetadata> result = new CompletableFuture<>();
    boolean posted = thread.post("a savepoint request", () -> {
      queuedSavepoints.add(result);
      if (pending == null) {
        startQueuedSavepoints();
      }
    });
    if (!posted) {
      result.completeExceptionally(
          new IllegalStateException("the coordinator is shutting down; no savepoint was taken"));
    }
    return result;
  }

  /** The periodic trigger. Coordinator thread. */
  void tick() {
    if (pending != null) {
      return; // one at a time; the next tick tries again
    }
    if (!queuedSavepoints.isEmpty()) {
      startQueuedSavepoints();
      return;
    }
    Participants participants = participants();
    if (participants.notReady == null) {
      trigger(false, participants, List.of());
    }
  }

  /** An instance acked. Coordinator thread. */
  public void acknowledged(String instanceId, long session, CheckpointAck ack) {
    PendingCheckpoint p = pending;
    if (p == null || ack.getCheckpointId() != p.id) {
      LOG.log(System.Logger.Level.DEBUG, () -> "ignored ack of checkpoint " + ack.getCheckpointId()
          + " from " + instanceId + ": it is not in flight");
      return;
    }
    if (ack.getEpoch() != p.epoch) {
      LOG.log(System.Logger.Level.DEBUG, () -> "ignored stale ack of checkpoint " + p.id + " from "
          + instanceId + ": epoch " + ack.getEpoch() + ", the checkpoint's is " + p.epoch);
      return;
    }
    if (p.participant(instanceId, session) && p.acknowledge(instanceId, ack)) {
      complete(p);
    }
  }

  /** An instance declined. Coordinator thread. */
  public void declined(String instanceId, long session, CheckpointDecline decline) {
    PendingCheckpoint p = pending;
    if (p != null && decline.getCheckpointId() == p.id && p.participant(instanceId, session)) {
      abort(p, "declined by " + instanceId
          + (decline.getReason().isEmpty() ? "" : ": " + decline.getReason()));
    }
  }

  /** Instances were declared dead; aborts the checkpoint they take part in. Coordinator thread. */
  public void instancesDied(List<InstanceSnapshot> died) {
    PendingCheckpoint p = pending;
    if (p == null) {
      return;
    }
    for (InstanceSnapshot instance : died) {
      if (p.participant(instance.instanceId(), instance.session())) {
        abort(p, instance.instanceId() + " died");
        return;
      }
    }
  }

  /**
   * Aborts the checkpoint in flight, if any (a restore is starting). Savepoint requests waiting
   * behind it fail unless the pipeline is ready. Coordinator thread.
   */
  public void abort(String reason) {
    if (pending != null) {
      abort(pending, reason);
    }
  }

  /**
   * The checkpoints of this run, oldest first (at most {@value CheckpointHistory#LIMIT}). Any
   * thread.
   */
  public List<CheckpointStats> history() {
    return history.all();
  }

  /** The newest checkpoint of this run that completed or aborted. Any thread. */
  public Optional<CheckpointStats> lastFinished() {
    return history.lastFinished();
  }

  /**
   * What {@code ListCheckpoints} shows, oldest first: every completed checkpoint the store keeps
   * (of this run or an earlier one), and this run's savepoints, aborted checkpoints and the one
   * in flight. Reads the store's metadata. Any thread.
   */
  public List<CheckpointStats> list() {
    Map<Long, CheckpointStats> byId = new TreeMap<>();
    for (CheckpointMetadata meta : store.completed()) {
      byId.put(meta.getCheckpointId(), fromMetadata(meta));
    }
    for (CheckpointStats stats : history.all()) {
      boolean pruned = stats.state() == CheckpointStats.State.COMPLETED && !stats.savepoint()
          && !byId.containsKey(stats.checkpointId());
      if (!pruned) {
        byId.put(stats.checkpointId(), stats); // the run's own record knows the alignment too
      }
    }
    return List.copyOf(byId.values());
  }

  /** The pipeline's folder in the store: {@code <dir>/<pipeline>}, absolute. */
  public Path storageDir() {
    return storageDir;
  }

  /**
   * What is known of a completed checkpoint: this run's record of it, else what its metadata
   * says (no alignment time). Any thread.
   */
  public CheckpointStats stats(CheckpointMetadata meta) {
    return history.all().stream()
        .filter(s -> s.checkpointId() == meta.getCheckpointId())
        .findFirst()
        .orElseGet(() -> fromMetadata(meta));
  }

  /** Where a checkpoint's files are: {@code <storage_dir>/chk-<n>} or {@code savepoint-<n>}. */
  public String location(long checkpointId, boolean savepoint) {
    return storageDir.resolve((savepoint ? "savepoint-" : "chk-") + checkpointId).toString();
  }

  /** The expected instances, or why a checkpoint cannot start now. */
  private record Participants(
      Map<String, Integer> parallelism, List<PendingCheckpoint.Participant> all, String notReady) {}

  private Participants participants() {
    if (!pipelineReady.getAsBoolean()) {
      return new Participants(Map.of(), List.of(), "the pipeline is not running (it is starting,"
          + " restoring, degraded, draining or finished)");
    }
    Map<String, Integer> parallelism = new LinkedHashMap<>();
    List<PendingCheckpoint.Participant> all = new ArrayList<>();
    for (StageSpec stage : spec.stages()) {
      int p = registry.desiredParallelism(stage.name());
      parallelism.put(stage.name(), p);
      for (int i = 0; i < p; i++) {
        String id = InstanceSnapshot.instanceId(stage.name(), i);
        Optional<InstanceSnapshot> instance = registry.instance(id);
        if (instance.isEmpty()
            || instance.get().state() != InstanceState.INSTANCE_STATE_RUNNING) {
          return new Participants(Map.of(), List.of(), id + " is not running");
        }
        all.add(new PendingCheckpoint.Participant(stage.name(), i, id, instance.get().session()));
      }
    }
    return new Participants(parallelism, all, null);
  }

  private void startQueuedSavepoints() {
    if (queuedSavepoints.isEmpty()) {
      return;
    }
    List<CompletableFuture<CheckpointMetadata>> waiting = List.copyOf(queuedSavepoints);
    queuedSavepoints.clear();
    Participants participants = participants();
    if (participants.notReady != null) {
      IllegalStateException e =
          new IllegalStateException("cannot take a savepoint now: " + participants.notReady);
      waiting.forEach(f -> f.completeExceptionally(e));
      return;
    }
    trigger(true, participants, waiting);
  }

  private void trigger(
      boolean savepoint,
      Participants participants,
      List<CompletableFuture<CheckpointMetadata>> waiting) {
    long id = Math.max(lastId, store.highestCheckpointId()) + 1;
    lastId = id;
    long now = clock.millis();
    PendingCheckpoint p = new PendingCheckpoint(
        id, savepoint, now, epoch.getAsLong(), participants.parallelism, participants.all);
    p.waiting.addAll(waiting);
    pending = p;
    history.put(new CheckpointStats(id, savepoint, CheckpointStats.State.IN_PROGRESS, now, 0, 0,
        0, location(id, savepoint), ""));
    Command trigger = Command.newBuilder()
        .setTriggerCheckpoint(TriggerCheckpoint.newBuilder()
            .setCheckpointId(id)
            .setTimestamp(now)
            .setSavepoint(savepoint))
        .build();
    List<String> sources = new ArrayList<>();
    for (InstanceSnapshot instance : registry.instances()) {
      if (instance.live() && isSource(instance.stage())) {
        if (!bus.send(instance.instanceId(), trigger)) {
          abort(p, "source " + instance.instanceId() + " could not be told to start it");
          return;
        }
        sources.add(instance.instanceId());
      }
    }
    p.timeout =
        thread.schedule("the timeout of " + name(p), () -> timedOut(id), settings.timeout());
    LOG.log(System.Logger.Level.DEBUG, () -> name(p) + " triggered at epoch " + p.epoch
        + " on sources " + sources + "; waiting for " + p.participantCount() + " acks");
  }

  private void timedOut(long id) {
    PendingCheckpoint p = pending;
    if (p != null && p.id == id) {
      abort(p, "not complete within " + settings.timeout().toMillis() + " ms (no ack from "
          + String.join(", ", p.missing()) + ")");
    }
  }

  private void complete(PendingCheckpoint p) {
    long completedAt = clock.millis();
    CheckpointMetadata meta = p.metadata(spec.name(), spec.maxParallelism(), completedAt);
    try {
      store.complete(meta);
    } catch (IOException | RuntimeException e) {
      abort(p, "its metadata could not be stored: " + e.getMessage());
      return;
    }
    pending = null;
    p.timeout.cancel(false);
    sendToLive(Command.newBuilder()
        .setCompleteCheckpoint(CompleteCheckpoint.newBuilder().setCheckpointId(p.id))
        .build());
    CheckpointStats stats = new CheckpointStats(p.id, p.savepoint,
        CheckpointStats.State.COMPLETED, p.triggeredAtMillis, completedAt - p.triggeredAtMillis,
        p.sizeBytes(), p.maxAlignmentMillis(), location(p.id, p.savepoint), "");
    history.put(stats);
    finished(stats);
    LOG.log(System.Logger.Level.INFO, name(p) + " complete in " + stats.durationMillis() + " ms, "
        + bytes(stats.sizeBytes()) + " (" + p.participantCount() + " instances, epoch " + p.epoch
        + ", longest alignment " + stats.maxAlignmentMillis() + " ms)");
    p.waiting.forEach(f -> f.complete(meta));
    try {
      store.retain(settings.keep());
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "could not prune the checkpoint store to the newest "
          + settings.keep() + " checkpoints; will try again after the next one", e);
    }
    startQueuedSavepoints();
  }

  private void abort(PendingCheckpoint p, String reason) {
    if (pending != p) {
      return;
    }
    pending = null;
    if (p.timeout != null) {
      p.timeout.cancel(false);
    }
    sendToLive(Command.newBuilder()
        .setAbortCheckpoint(AbortCheckpoint.newBuilder().setCheckpointId(p.id).setReason(reason))
        .build());
    long now = clock.millis();
    CheckpointStats stats = new CheckpointStats(p.id, p.savepoint, CheckpointStats.State.ABORTED,
        p.triggeredAtMillis, now - p.triggeredAtMillis, 0, 0, location(p.id, p.savepoint),
        reason);
    history.put(stats);
    finished(stats);
    LOG.log(System.Logger.Level.WARNING, name(p) + " aborted after "
        + (now - p.triggeredAtMillis) + " ms: " + reason);
    CheckpointFailedException failed =
        new CheckpointFailedException(p.id, name(p) + " was aborted: " + reason);
    p.waiting.forEach(f -> f.completeExceptionally(failed));
    try {
      store.discard(p.id);
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "could not discard the files of aborted " + name(p)
          + "; the next prune removes them", e);
    }
    startQueuedSavepoints();
  }

  private void finished(CheckpointStats stats) {
    for (Consumer<CheckpointStats> listener : finishListeners) {
      try {
        listener.accept(stats);
      } catch (RuntimeException e) {
        // Observers must not break the checkpoint protocol they observe.
        LOG.log(System.Logger.Level.WARNING, "a checkpoint listener failed", e);
      }
    }
  }

  private void sendToLive(Command command) {
    for (InstanceSnapshot instance : registry.instances()) {
      if (instance.live()) {
        bus.send(instance.instanceId(), command);
      }
    }
  }

  private boolean isSource(String stage) {
    return spec.stage(stage).map(s -> s.role() == StageFactory.Role.SOURCE).orElse(false);
  }

  private CheckpointStats fromMetadata(CheckpointMetadata meta) {
    long size = 0;
    for (StageCheckpoint stage : meta.getStagesList()) {
      for (StateHandle handle : stage.getStateList()) {
        size += handle.getSizeBytes();
      }
    }
    return new CheckpointStats(meta.getCheckpointId(), meta.getSavepoint(),
        CheckpointStats.State.COMPLETED, meta.getTriggeredAtMillis(),
        meta.getCompletedAtMillis() - meta.getTriggeredAtMillis(), size, 0,
        location(meta.getCheckpointId(), meta.getSavepoint()), "");
  }

  private static String name(PendingCheckpoint p) {
    return (p.savepoint ? "savepoint " : "checkpoint ") + p.id;
  }

  /** "512 B", "3.4 KiB", "2.1 MiB", "1.0 GiB". */
  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double value = n;
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
  }
}
