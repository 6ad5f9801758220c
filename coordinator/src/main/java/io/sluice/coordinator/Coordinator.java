package io.sluice.coordinator;

import io.sluice.coordinator.admin.AdminServiceImpl;
import io.sluice.coordinator.admin.StatusReporter;
import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.checkpoint.CoordinatorThread;
import io.sluice.coordinator.checkpoint.CheckpointStats;
import io.sluice.coordinator.control.CommandBus;
import io.sluice.coordinator.control.ControlListener;
import io.sluice.coordinator.control.ControlServiceImpl;
import io.sluice.coordinator.control.RouteGate;
import io.sluice.coordinator.events.ErrorEvent;
import io.sluice.coordinator.events.ErrorLog;
import io.sluice.coordinator.events.ErrorReportingListener;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.liveness.LivenessMonitor;
import io.sluice.coordinator.metrics.CoordinatorMetrics;
import io.sluice.coordinator.recovery.Epoch;
import io.sluice.coordinator.recovery.RecoveryCoordinator;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.runtime.checkpoint.CheckpointStore;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/**
 * The coordinator's parts wired together, without a transport: the registry, routes, lifecycle,
 * liveness, the control and admin services, the error log and metrics and, when the spec has
 * {@code checkpoints:}, the checkpoint and recovery coordinators. {@link CoordinatorServer} serves them over Netty; tests
 * serve the same wiring in-process with fake time.
 *
 * <p>Thread-safe: every part is. Nothing runs until {@link #startCheckpoints} and the caller's
 * liveness schedule.
 */
public final class Coordinator {
  private final PipelineSpec spec;
  private final InstanceRegistry registry;
  private final RouteComputer routes;
  private final PipelineLifecycle lifecycle;
  private final ControlServiceImpl control;
  private final AdminServiceImpl admin;
  private final StatusReporter reporter;
  private final ErrorLog errors;
  private final CoordinatorMetrics metrics;
  private final LivenessMonitor liveness;
  private final Optional<CheckpointCoordinator> checkpoints;
  private final Optional<RecoveryCoordinator> recovery;

  private Coordinator(
      PipelineSpec spec,
      InstanceRegistry registry,
      RouteComputer routes,
      PipelineLifecycle lifecycle,
      ControlServiceImpl control,
      AdminServiceImpl admin,
      StatusReporter reporter,
      ErrorLog errors,
      CoordinatorMetrics metrics,
      Optional<CheckpointCoordinator> checkpoints,
      Optional<RecoveryCoordinator> recovery) {
    this.spec = spec;
    this.registry = registry;
    this.routes = routes;
    this.lifecycle = lifecycle;
    this.control = control;
    this.admin = admin;
    this.reporter = reporter;
    this.errors = errors;
    this.metrics = metrics;
    this.liveness =
        new LivenessMonitor(registry, spec.heartbeat().timeout(), control::instancesDied);
    this.checkpoints = checkpoints;
    this.recovery = recovery;
  }

  /**
   * Wires a coordinator.
   *
   * @param nanoTime a monotonic clock (liveness, rates); {@code System::nanoTime} in production
   * @param clock wall time for checkpoint timestamps and durations
   * @param scheduler single-threaded: the coordinator thread, which runs the checkpoint trigger,
   *     timeouts, restores and all store I/O
   * @param store the pipeline's checkpoint store (rooted at {@code <dir>/<pipeline>}); given
   *     exactly when the spec has {@code checkpoints:}
   * @param fromSavepoint the savepoint to start from, already checked with {@link
   *     io.sluice.coordinator.recovery.SavepointCheck}; needs checkpoints
   * @throws IllegalArgumentException when the store or savepoint does not fit the spec
   */
  public static Coordinator wire(
      PipelineSpec spec,
      LongSupplier nanoTime,
      Clock clock,
      ScheduledExecutorService scheduler,
      Optional<CheckpointStore> store,
      Optional<CheckpointMetadata> fromSavepoint) {
    if (spec.checkpoints().isPresent() != store.isPresent()) {
      throw new IllegalArgumentException(spec.checkpoints().isPresent()
          ? "pipeline '" + spec.name() + "' checkpoints but no checkpoint store was given"
          : "pipeline '" + spec.name() + "' has no 'checkpoints:' section, so it takes no store");
    }
    if (fromSavepoint.isPresent() && store.isEmpty()) {
      throw new IllegalArgumentException("pipeline '" + spec.name() + "' has no 'checkpoints:'"
          + " section, so it cannot start from a savepoint");
    }
    InstanceRegistry registry = new InstanceRegistry(spec, nanoTime);
    ErrorLog errors = new ErrorLog(clock);
    CoordinatorMetrics metrics = new CoordinatorMetrics(registry, clock);
    if (store.isEmpty()) {
      RouteComputer routes = new RouteComputer(spec, registry);
      PipelineLifecycle lifecycle = new PipelineLifecycle(registry);
      ControlServiceImpl control = new ControlServiceImpl(registry, routes, lifecycle,
          new CommandBus(registry, routes), RouteGate.OPEN,
          new ErrorReportingListener(registry, errors, ControlListener.NONE));
      StatusReporter reporter = new StatusReporter(registry, lifecycle, Optional.empty(), errors);
      AdminServiceImpl admin = new AdminServiceImpl(registry, reporter, control);
      return new Coordinator(spec, registry, routes, lifecycle, control, admin, reporter, errors,
          metrics, Optional.empty(), Optional.empty());
    }
    Epoch epoch = new Epoch(1);
    RouteComputer routes = new RouteComputer(spec, registry, epoch::get);
    PipelineLifecycle lifecycle = new PipelineLifecycle(registry);
    CommandBus bus = new CommandBus(registry, routes);
    CoordinatorThread thread = new CoordinatorThread(scheduler);
    // RUNNING already excludes a restore (RESTORING), a drain and a dead instance.
    CheckpointCoordinator checkpoints = new CheckpointCoordinator(spec, registry, store.get(), bus,
        thread, clock, () -> lifecycle.state() == PipelineState.RUNNING, epoch::get);
    fromSavepoint.ifPresent(s -> checkpoints.numberAbove(s.getCheckpointId()));
    checkpoints.addFinishListener(metrics::checkpointFinished);
    checkpoints.addFinishListener(stats -> {
      if (stats.state() == CheckpointStats.State.ABORTED) {
        errors.record(ErrorEvent.Kind.CHECKPOINT_ABORTED,
            (stats.savepoint() ? "savepoint " : "checkpoint ") + stats.checkpointId(),
            "aborted after " + stats.durationMillis() + " ms: " + stats.failureReason());
      }
    });
    RecoveryCoordinator recovery = new RecoveryCoordinator(spec, registry, lifecycle, store.get(),
        checkpoints, bus, thread, epoch, fromSavepoint);
    recovery.addRestoreListener(
        description -> errors.record(ErrorEvent.Kind.RESTORE_STARTED, spec.name(), description));
    ControlServiceImpl control = new ControlServiceImpl(registry, routes, lifecycle, bus,
        recovery, new ErrorReportingListener(registry, errors,
            new CheckpointEvents(thread, checkpoints, recovery)));
    StatusReporter reporter =
        new StatusReporter(registry, lifecycle, Optional.of(checkpoints), errors);
    AdminServiceImpl admin =
        new AdminServiceImpl(registry, reporter, control, Optional.of(checkpoints));
    return new Coordinator(spec, registry, routes, lifecycle, control, admin, reporter, errors,
        metrics, Optional.of(checkpoints), Optional.of(recovery));
  }

  /** Starts the periodic checkpoint trigger; does nothing without checkpoints. Call once. */
  public void startCheckpoints() {
    checkpoints.ifPresent(CheckpointCoordinator::start);
  }

  public PipelineSpec spec() {
    return spec;
  }

  public InstanceRegistry registry() {
    return registry;
  }

  public RouteComputer routes() {
    return routes;
  }

  public PipelineLifecycle lifecycle() {
    return lifecycle;
  }

  public ControlServiceImpl control() {
    return control;
  }

  public AdminServiceImpl admin() {
    return admin;
  }

  /** Builds {@code GetStatus} and {@code GetTopology} answers; also publishes the dashboard URL. */
  public StatusReporter reporter() {
    return reporter;
  }

  /** The errors the coordinator observed lately. */
  public ErrorLog errors() {
    return errors;
  }

  /** The coordinator's own metrics, for {@code /metrics}. */
  public CoordinatorMetrics metrics() {
    return metrics;
  }

  /** Declares silent instances dead; schedule it ({@link LivenessMonitor#schedule}). */
  public LivenessMonitor liveness() {
    return liveness;
  }

  /** The checkpoint coordinator; empty without checkpoints. */
  public Optional<CheckpointCoordinator> checkpoints() {
    return checkpoints;
  }

  /** The recovery coordinator; empty without checkpoints. */
  public Optional<RecoveryCoordinator> recovery() {
    return recovery;
  }
}
