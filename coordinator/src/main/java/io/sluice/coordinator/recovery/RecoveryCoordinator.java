package io.sluice.coordinator.recovery;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.checkpoint.CoordinatorThread;
import io.sluice.coordinator.control.CommandBus;
import io.sluice.coordinator.control.RouteGate;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.RestoreDone;
import io.sluice.runtime.checkpoint.CheckpointStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Epochs and restores (docs/checkpoints.md, "Recovery"): after a failure every instance loads
 * the same completed checkpoint, and only then do routes flow again, stamped with a new epoch so
 * nothing sent before the restore mixes with what comes after.
 *
 * <p>The pipeline starts at epoch 1 without a restore. A restore starts:
 * <ul>
 *   <li>when an instance dies while the pipeline is neither draining nor finished (starting
 *       counts: events may already have flowed), and again when one dies during a restore;
 *   <li>when an instance registers with {@code Register.epoch > 0} while no restore runs: it ran
 *       under a coordinator that crashed. Routes are held until every expected instance (index
 *       below its stage's desired parallelism) has registered, then the whole pipeline restores
 *       at an epoch above every epoch reported and every epoch in the store's metadata;
 *   <li>at start from a savepoint: once every expected instance has registered (epoch 1 → 2).
 * </ul>
 * A restore aborts the checkpoint in flight, raises the epoch, picks what to load (the newest
 * intact checkpoint of the run that no instance failed to restore, else the savepoint the run
 * started from, else the empty state), and sends {@code Restore} to every live instance; an
 * instance that registers meanwhile gets {@code Registered} and then its {@code Restore}. No
 * route goes out while it runs ({@link RouteGate}). Once every expected instance has answered
 * {@code RestoreDone} of the epoch without error, every live instance gets routes of the new
 * epoch and the pipeline runs again. An instance that answers with an error makes that
 * checkpoint unusable for the rest of the run and the restore starts over from the one before;
 * when it failed the run's base (the savepoint it started from, or the empty state) there is
 * nothing before it, and the restore waits for that instance to be restarted.
 *
 * <p>Threading: {@link #ifOpen}, {@link #admit}, {@link #epoch} and {@link #routesHeld} may be
 * called from any thread; they take this class's one lock briefly and never do I/O. The methods
 * that say "coordinator thread" run on the coordinator thread (the same one as the {@link
 * CheckpointCoordinator}'s), which also reads the store. Lock order: this lock, then the route
 * computer's, the registry's and a stream's.
 */
public final class RecoveryCoordinator implements RouteGate {
  private static final System.Logger LOG = System.getLogger(RecoveryCoordinator.class.getName());

  private enum Phase {
    /** Routes flow. */
    OPEN,
    /** Routes held until every expected instance has registered; then a restore starts. */
    AWAITING_REGISTRATIONS,
    /** Restores sent; routes held until every expected instance has restored. */
    RESTORING
  }

  private final PipelineSpec spec;
  private final InstanceRegistry registry;
  private final PipelineLifecycle lifecycle;
  private final CheckpointCoordinator checkpoints;
  private final CommandBus bus;
  private final CoordinatorThread coordinatorThread;
  /** The highest epoch in the store's metadata at start. */
  private final long storeEpoch;
  /** Coordinator thread only. */
  private final CheckpointChooser chooser;

  /** Moved under the lock; read without it by the route computer. */
  private final Epoch epoch;
  private final Object lock = new Object();
  private final List<Consumer<String>> restoreListeners = new CopyOnWriteArrayList<>();

  @GuardedBy("lock")
  private Phase phase = Phase.OPEN;

  /** Why routes are held while the phase is AWAITING_REGISTRATIONS. */
  @GuardedBy("lock")
  private String awaitingCause = "";

  /** Some instance ran under a crashed coordinator: restore from its checkpoints too. */
  @GuardedBy("lock")
  private boolean resume;

  @GuardedBy("lock")
  private long maxReportedEpoch;

  /** The restore under way; null while it is being chosen, and while the phase is not RESTORING. */
  @GuardedBy("lock")
  private RestorePlan plan;

  /** Instance id → the session sent this epoch's Restore. */
  @GuardedBy("lock")
  private final Map<String, Long> restoreSent = new HashMap<>();

  /** Instance id → the session that answered this epoch's Restore without error. */
  @GuardedBy("lock")
  private final Map<String, Long> restored = new HashMap<>();

  /**
   * @param store the pipeline's checkpoints
   * @param checkpoints aborted when a restore starts
   * @param bus where Restores and the routes after a restore go
   * @param coordinatorThread the checkpoint coordinator's thread; restores run there
   * @param epoch the pipeline's epoch (1 at start), which only this class moves
   * @param savepoint the savepoint the pipeline starts from, checked ({@link SavepointCheck});
   *     empty for a fresh start
   */
  public RecoveryCoordinator(
      PipelineSpec spec,
      InstanceRegistry registry,
      PipelineLifecycle lifecycle,
      CheckpointStore store,
      CheckpointCoordinator checkpoints,
      CommandBus bus,
      CoordinatorThread coordinatorThread,
      Epoch epoch,
      Optional<CheckpointMetadata> savepoint) {
    this.spec = spec;
    this.registry = registry;
    this.lifecycle = lifecycle;
    this.checkpoints = checkpoints;
    this.bus = bus;
    this.coordinatorThread = coordinatorThread;
    this.epoch = epoch;
    this.storeEpoch =
        store.completed().stream().mapToLong(CheckpointMetadata::getEpoch).max().orElse(0);
    this.chooser = new CheckpointChooser(store, savepoint);
    savepoint.ifPresent(s -> {
      synchronized (lock) {
        phase = Phase.AWAITING_REGISTRATIONS;
        awaitingCause = "the pipeline starts from savepoint " + s.getCheckpointId();
      }
      lifecycle.setRestoring(true);
    });
  }

  /** The current restore epoch; every route update carries it. Any thread. */
  public long epoch() {
    return epoch.get();
  }

  /** Whether a restore holds the routes now. Any thread. */
  public boolean routesHeld() {
    synchronized (lock) {
      return phase != Phase.OPEN;
    }
  }

  @Override
  public boolean ifOpen(Runnable push) {
    synchronized (lock) {
      if (phase != Phase.OPEN) {
        return false;
      }
      push.run();
      return true;
    }
  }

  @Override
  public void admit(InstanceSnapshot instance, long reportedEpoch, Runnable sendRoutes) {
    boolean everyoneIn;
    synchronized (lock) {
      maxReportedEpoch = Math.max(maxReportedEpoch, reportedEpoch);
      switch (phase) {
        case OPEN -> {
          if (reportedEpoch == 0 || !restorable()) {
            sendRoutes.run();
            return;
          }
          // Only a previous coordinator can have given this epoch: a restart. The instances
          // still hold state and channels of its run, so the whole pipeline restores.
          phase = Phase.AWAITING_REGISTRATIONS;
          resume = true;
          awaitingCause = instance.instanceId() + " ran at epoch " + reportedEpoch
              + " under an earlier coordinator";
          lifecycle.setRestoring(true);
          LOG.log(System.Logger.Level.INFO, awaitingCause + ": holding routes until every"
              + " instance has registered, then restoring the pipeline");
        }
        case AWAITING_REGISTRATIONS -> { }
        case RESTORING -> {
          if (plan != null) {
            sendRestore(instance);
          } // else the Restores about to go out include it
          return;
        }
      }
      everyoneIn = everyExpected(i -> true);
    }
    if (everyoneIn) {
      coordinatorThread.post("the restore after every instance registered",
          this::restoreOnceRegistered);
    }
  }

  /**
   * An instance just died: unless the pipeline is draining or finished, holds the routes at once,
   * before the deaths reach {@link #instancesDied} on the coordinator thread (so no route goes
   * out around the dead in between). Any thread; no I/O.
   */
  public void holdRoutesForRestore() {
    synchronized (lock) {
      if (phase == Phase.OPEN && restorable()) {
        phase = Phase.RESTORING; // the plan follows in beginRestore
        plan = null;
        lifecycle.setRestoring(true);
      }
    }
  }

  /** Instances were declared dead: a restore starts (or starts over). Coordinator thread. */
  public void instancesDied(List<InstanceSnapshot> died) {
    synchronized (lock) {
      // Waiting for registrations: the restore comes once they are in. Open: a drain or a
      // finished pipeline is not restored (holdRoutesForRestore left the phase open).
      if (phase != Phase.RESTORING && !(phase == Phase.OPEN && restorable())) {
        return;
      }
    }
    beginRestore(String.join(", ", died.stream().map(InstanceSnapshot::instanceId).toList())
        + " died");
  }

  /** An instance answered a Restore. Coordinator thread. */
  public void restoreDone(String instanceId, long session, RestoreDone done) {
    RestoreSource failed;
    synchronized (lock) {
      Long sent = restoreSent.get(instanceId);
      if (phase != Phase.RESTORING || plan == null || done.getEpoch() != plan.epoch()
          || sent == null || sent != session) {
        LOG.log(System.Logger.Level.DEBUG, () -> "ignored RestoreDone of epoch " + done.getEpoch()
            + " from " + instanceId + ": no such restore under way");
        return;
      }
      if (done.getError().isEmpty()) {
        restored.put(instanceId, session);
        if (everyExpected(i -> Long.valueOf(i.session()).equals(restored.get(i.instanceId())))) {
          finishRestore();
        }
        return;
      }
      failed = plan.source();
      LOG.log(System.Logger.Level.WARNING, instanceId + " could not restore "
          + failed.describe() + " (epoch " + plan.epoch() + "): " + done.getError()
          + (failed.base()
              ? "; the run started from it, so there is nothing older to fall back to: restart "
                  + instanceId + " so it tries again"
              : "; not using it again, restoring from the one before it"));
      if (failed.base()) {
        return; // the instance's restart re-registers it, and it gets this Restore again
      }
    }
    chooser.markBad(failed);
    beginRestore(instanceId + " could not restore " + failed.describe() + ": "
        + done.getError());
  }

  /** Every expected instance registered after a restart or for a savepoint. Coordinator thread. */
  private void restoreOnceRegistered() {
    String cause;
    synchronized (lock) {
      if (phase != Phase.AWAITING_REGISTRATIONS || !everyExpected(i -> true)) {
        return;
      }
      cause = awaitingCause;
    }
    beginRestore(cause);
  }

  /** Coordinator thread. */
  private void beginRestore(String cause) {
    long newEpoch;
    boolean resumeNow;
    synchronized (lock) {
      resumeNow = resume;
      resume = false;
      newEpoch = Math.max(epoch.get(), maxReportedEpoch) + 1;
      if (resumeNow) {
        newEpoch = Math.max(newEpoch, storeEpoch + 1);
      }
      epoch.set(newEpoch);
      phase = Phase.RESTORING;
      plan = null;
      restoreSent.clear();
      restored.clear();
    }
    lifecycle.setRestoring(true);
    // Before choosing: a checkpoint completing after the choice would have sinks commit output
    // that the restored state does not account for.
    checkpoints.abort("a restore started (" + cause + ")");
    if (resumeNow) {
      chooser.resume();
    }
    RestoreSource source = chooser.choose(); // store I/O, outside the lock
    synchronized (lock) {
      if (epoch.get() != newEpoch) {
        return; // cannot happen (restores start on this thread only); never send a stale plan
      }
      plan = new RestorePlan(newEpoch, source);
      List<String> told = new ArrayList<>();
      for (InstanceSnapshot instance : registry.instances()) {
        if (instance.live() && sendRestore(instance)) {
          told.add(instance.instanceId());
        }
      }
      LOG.log(System.Logger.Level.INFO, "restoring pipeline '" + spec.name() + "' from "
          + source.describe() + " at epoch " + newEpoch + " (" + cause + "); Restore sent to "
          + told + "; routes held until every instance has restored");
    }
    String description =
        "restoring from " + source.describe() + " at epoch " + newEpoch + " (" + cause + ")";
    for (Consumer<String> listener : restoreListeners) {
      listener.accept(description);
    }
  }

  /**
   * Adds a listener told, on the coordinator thread, each time a restore starts, with a sentence
   * naming what it restores from and why; for the error log. It must not block. Any thread.
   */
  public void addRestoreListener(Consumer<String> listener) {
    restoreListeners.add(listener);
  }

  @GuardedBy("lock")
  private boolean sendRestore(InstanceSnapshot instance) {
    Long sent = restoreSent.get(instance.instanceId());
    if (sent != null && sent == instance.session()) {
      return false;
    }
    int parallelism = registry.desiredParallelism(instance.stage());
    Command restore = Command.newBuilder()
        .setRestore(plan.restoreFor(
            instance.stage(), instance.index(), parallelism, spec.maxParallelism()))
        .build();
    if (!bus.send(instance.instanceId(), restore)) {
      return false;
    }
    restoreSent.put(instance.instanceId(), instance.session());
    return true;
  }

  @GuardedBy("lock")
  private void finishRestore() {
    RestorePlan done = plan;
    phase = Phase.OPEN;
    plan = null;
    lifecycle.setRestoring(false);
    LOG.log(System.Logger.Level.INFO, "pipeline '" + spec.name() + "' restored from "
        + done.source().describe() + " at epoch " + done.epoch() + "; sending routes");
    // Under the lock, so no route push slips in between: the next routes are this epoch's.
    bus.pushRouteChanges("the restore at epoch " + done.epoch());
  }

  /** Whether every expected instance is registered, live, and passes {@code test}. */
  @GuardedBy("lock")
  private boolean everyExpected(Predicate<InstanceSnapshot> test) {
    for (StageSpec stage : spec.stages()) {
      int parallelism = registry.desiredParallelism(stage.name());
      for (int i = 0; i < parallelism; i++) {
        Optional<InstanceSnapshot> instance =
            registry.instance(InstanceSnapshot.instanceId(stage.name(), i));
        if (instance.isEmpty() || !instance.get().live() || !test.test(instance.get())) {
          return false;
        }
      }
    }
    return true;
  }

  /** A drained or finished pipeline is not restored: its instances are ending on purpose. */
  private boolean restorable() {
    return !lifecycle.draining() && lifecycle.state() != PipelineState.FINISHED;
  }
}
