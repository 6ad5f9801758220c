package io.sluice.coordinator.registry;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Register;
import io.sluice.proto.v1.WatermarkReport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * The registered instances of every stage of one pipeline, and each stage's desired parallelism
 * (which starts at the spec's {@code replicas}).
 *
 * <p>Registration rules: a requested index {@code >= 0} takes that index, {@code -1} the lowest
 * index no live instance holds; an index held by a live (not dead, not finished) instance is
 * {@code ALREADY_EXISTS}; a dead or finished instance's index may be taken again. An index at or
 * beyond the desired parallelism grows it for a stateless stage (a live scale-out) and is {@code
 * FAILED_PRECONDITION} for a stage with keyed state, which rescales through a savepoint.
 *
 * <p>Every report names the instance and the session of its registration: reports from a stream
 * that has since been replaced are ignored.
 *
 * <p>Thread-safe: one lock guards all state; methods never block on anything else. Listeners run
 * on the thread that made the change, after the lock is released.
 */
public final class InstanceRegistry {
  private final PipelineSpec spec;
  private final LongSupplier nanoTime;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  private final Object lock = new Object();

  @GuardedBy("lock")
  private final Map<String, NavigableMap<Integer, Entry>> byStage = new LinkedHashMap<>();

  @GuardedBy("lock")
  private final Map<String, Integer> desired = new LinkedHashMap<>();

  @GuardedBy("lock")
  private long nextSession = 1;

  /**
   * @param spec the pipeline
   * @param nanoTime a monotonic clock in nanoseconds ({@code System::nanoTime} in production)
   */
  public InstanceRegistry(PipelineSpec spec, LongSupplier nanoTime) {
    this.spec = spec;
    this.nanoTime = nanoTime;
    for (StageSpec stage : spec.stages()) {
      byStage.put(stage.name(), new TreeMap<>());
      desired.put(stage.name(), stage.replicas());
    }
  }

  public PipelineSpec spec() {
    return spec;
  }

  /** The registry's clock now, in nanoseconds. */
  public long nanoTime() {
    return nanoTime.getAsLong();
  }

  /** Calls {@code listener} after every change of an instance's state or of a parallelism. */
  public void addListener(Runnable listener) {
    listeners.add(listener);
  }

  /**
   * Registers an instance.
   *
   * @return the instance as registered, in state STARTING with a new session
   * @throws StatusRuntimeException INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS or
   *     FAILED_PRECONDITION, as {@code ControlService.Attach} documents
   */
  public InstanceSnapshot register(Register request) {
    InstanceSnapshot registered;
    synchronized (lock) {
      StageSpec stage = stageOrThrow(request.getStage());
      if (!request.getStageType().isEmpty() && !request.getStageType().equals(stage.type())) {
        throw Status.FAILED_PRECONDITION
            .withDescription("stage '" + stage.name() + "' has type '" + stage.type()
                + "' in the pipeline spec, but this instance runs '" + request.getStageType()
                + "'; start it with the type the spec gives, or change the spec")
            .asRuntimeException();
      }
      NavigableMap<Integer, Entry> instances = byStage.get(stage.name());
      int index = request.getRequestedIndex();
      if (index < -1) {
        throw Status.INVALID_ARGUMENT
            .withDescription("requested_index must be -1 (any free index) or >= 0, got " + index)
            .asRuntimeException();
      }
      if (index == -1) {
        index = 0;
        while (instances.containsKey(index) && instances.get(index).live()) {
          index++;
        }
      }
      Entry holder = instances.get(index);
      if (holder != null && holder.live()) {
        throw Status.ALREADY_EXISTS
            .withDescription("instance " + holder.instanceId + " is registered and "
                + stateName(holder.state) + "; stop it first, or register with requested_index"
                + " -1 to take a free index")
            .asRuntimeException();
      }
      int parallelism = desired.get(stage.name());
      if (index >= spec.maxParallelism()) {
        throw Status.INVALID_ARGUMENT
            .withDescription("index " + index + " is beyond the pipeline's maxParallelism ("
                + spec.maxParallelism() + "); a stage has at most that many instances")
            .asRuntimeException();
      }
      if (index >= parallelism) {
        if (stage.stateful()) {
          throw Status.FAILED_PRECONDITION
              .withDescription("stage '" + stage.name() + "' keeps keyed state; rescale it"
                  + " through a savepoint (it has " + parallelism + " instances, index " + index
                  + " is beyond them)")
              .asRuntimeException();
        }
        desired.put(stage.name(), index + 1); // a live scale-out of a stateless stage
      }
      Entry entry = new Entry(stage.name(), index, nextSession++, request, nanoTime.getAsLong());
      instances.put(index, entry);
      registered = entry.snapshot();
    }
    notifyListeners();
    return registered;
  }

  /** Records a heartbeat; false when the session is no longer the instance's. */
  public boolean heartbeat(String instanceId, long session) {
    synchronized (lock) {
      Entry e = current(instanceId, session);
      if (e == null) {
        return false;
      }
      e.lastHeartbeatNanos = nanoTime.getAsLong();
      return true;
    }
  }

  /** Keeps a metrics report (and the one before it, for rates); also counts as a heartbeat. */
  public boolean recordMetrics(String instanceId, long session, InstanceMetrics metrics) {
    synchronized (lock) {
      Entry e = current(instanceId, session);
      if (e == null) {
        return false;
      }
      long now = nanoTime.getAsLong();
      e.previousMetrics = e.latestMetrics;
      e.previousMetricsNanos = e.latestMetricsNanos;
      e.latestMetrics = metrics;
      e.latestMetricsNanos = now;
      e.lastHeartbeatNanos = now;
      return true;
    }
  }

  /** Keeps a watermark report; also counts as a heartbeat. */
  public boolean recordWatermark(String instanceId, long session, WatermarkReport watermark) {
    synchronized (lock) {
      Entry e = current(instanceId, session);
      if (e == null) {
        return false;
      }
      e.watermark = watermark;
      e.lastHeartbeatNanos = nanoTime.getAsLong();
      return true;
    }
  }

  /**
   * The state an instance reports (running, draining, finished). Ignored for a replaced session
   * and for an instance already dead or finished.
   *
   * <p>RUNNING from the instance means it serves (see {@link #isServing}); a starting instance
   * becomes RUNNING once it both serves and has complete routes ({@link #markRunning}), in
   * whichever order the two arrive: RUNNING in the registry means "routes complete and serving",
   * so a pipeline that shows running can be published to.
   *
   * @return whether the instance's state, or whether it serves, changed
   */
  public boolean reportState(String instanceId, long session, InstanceState state, String reason) {
    if (state == InstanceState.INSTANCE_STATE_UNSPECIFIED
        || state == InstanceState.UNRECOGNIZED) {
      return false;
    }
    boolean nowServing = false;
    boolean starting = false;
    if (state == InstanceState.INSTANCE_STATE_RUNNING) {
      synchronized (lock) {
        Entry e = current(instanceId, session);
        if (e != null && !e.serving) {
          e.serving = true;
          nowServing = true;
        }
        starting = e != null && e.state == InstanceState.INSTANCE_STATE_STARTING && !e.routesComplete;
      }
    }
    // Leaving STARTING waits for complete routes: an instance that serves may still lack targets
    // of its own. (No session goes back to STARTING, so checking it apart from the move is safe.)
    boolean changed = !starting && transition(instanceId, session, state, reason, null);
    if (nowServing && !changed) {
      notifyListeners();
    }
    return changed || nowServing;
  }

  /**
   * Whether the instance has said it serves its data plane (it reported RUNNING). Only such
   * instances become route targets, so no sender opens a stream to a process that is still
   * setting up its services — which would fail the stream and lose what was on it.
   */
  public boolean isServing(InstanceSnapshot instance) {
    synchronized (lock) {
      Entry e = current(instance.instanceId(), instance.session());
      return e != null && e.serving;
    }
  }

  /**
   * The instance has complete routes: STARTING → RUNNING if it also serves already (else its
   * RUNNING report makes the move when it comes).
   */
  public boolean markRunning(String instanceId, long session) {
    boolean serving;
    synchronized (lock) {
      Entry e = current(instanceId, session);
      if (e == null) {
        return false;
      }
      e.routesComplete = true;
      serving = e.serving;
    }
    return serving && transition(
        instanceId, session, InstanceState.INSTANCE_STATE_RUNNING, "",
        InstanceState.INSTANCE_STATE_STARTING);
  }

  /** Marks a live instance dead; false when it is already dead or finished, or replaced. */
  public boolean markDead(String instanceId, long session, String reason) {
    return transition(instanceId, session, InstanceState.INSTANCE_STATE_DEAD, reason, null);
  }

  /**
   * Marks a live instance dead unless it was heard from since {@code lastHeartbeatNanos}, so a
   * heartbeat that arrives while the liveness check runs wins.
   */
  public boolean markDeadIfSilentSince(
      String instanceId, long session, long lastHeartbeatNanos, String reason) {
    boolean changed;
    synchronized (lock) {
      Entry e = current(instanceId, session);
      changed = e != null && e.live() && e.lastHeartbeatNanos == lastHeartbeatNanos;
      if (changed) {
        e.state = InstanceState.INSTANCE_STATE_DEAD;
        e.stateReason = reason;
      }
    }
    if (changed) {
      notifyListeners();
    }
    return changed;
  }

  /** The desired parallelism of a stage. */
  public int desiredParallelism(String stage) {
    synchronized (lock) {
      Integer p = desired.get(stage);
      if (p == null) {
        throw new IllegalArgumentException("no stage '" + stage + "' in " + spec.stageNames());
      }
      return p;
    }
  }

  /**
   * Sets a stage's desired parallelism.
   *
   * @return the previous desired parallelism
   * @throws StatusRuntimeException NOT_FOUND for an unknown stage, INVALID_ARGUMENT for a
   *     parallelism outside [1, maxParallelism], FAILED_PRECONDITION for a stage with keyed state
   */
  public int scale(String stageName, int parallelism) {
    int previous;
    synchronized (lock) {
      StageSpec stage = stageOrThrow(stageName);
      if (parallelism < 1 || parallelism > spec.maxParallelism()) {
        throw Status.INVALID_ARGUMENT
            .withDescription("parallelism must be from 1 to the pipeline's maxParallelism ("
                + spec.maxParallelism() + "), got " + parallelism)
            .asRuntimeException();
      }
      previous = desired.get(stageName);
      if (previous == parallelism) {
        return previous;
      }
      if (stage.stateful()) {
        throw Status.FAILED_PRECONDITION
            .withDescription("stage '" + stageName + "' keeps keyed state; rescale it through a"
                + " savepoint (take a savepoint, stop, start from it with the new replicas)")
            .asRuntimeException();
      }
      desired.put(stageName, parallelism);
    }
    notifyListeners();
    return previous;
  }

  /** Every instance, stages in spec order, each stage's instances by index. */
  public List<InstanceSnapshot> instances() {
    synchronized (lock) {
      List<InstanceSnapshot> all = new ArrayList<>();
      for (NavigableMap<Integer, Entry> instances : byStage.values()) {
        instances.values().forEach(e -> all.add(e.snapshot()));
      }
      return all;
    }
  }

  /** A stage's instances by index; empty for an unknown stage. */
  public List<InstanceSnapshot> instances(String stage) {
    synchronized (lock) {
      NavigableMap<Integer, Entry> instances = byStage.get(stage);
      return instances == null
          ? List.of()
          : instances.values().stream().map(Entry::snapshot).toList();
    }
  }

  /** One instance by id. */
  public Optional<InstanceSnapshot> instance(String instanceId) {
    synchronized (lock) {
      return Optional.ofNullable(byId(instanceId)).map(Entry::snapshot);
    }
  }

  private boolean transition(
      String instanceId, long session, InstanceState to, String reason, InstanceState onlyFrom) {
    boolean changed;
    synchronized (lock) {
      Entry e = current(instanceId, session);
      changed = e != null && e.live() && (onlyFrom == null || e.state == onlyFrom)
          && (e.state != to || !e.stateReason.equals(reason));
      if (changed) {
        e.state = to;
        e.stateReason = reason;
      }
    }
    if (changed) {
      notifyListeners();
    }
    return changed;
  }

  @GuardedBy("lock")
  private Entry current(String instanceId, long session) {
    Entry e = byId(instanceId);
    return e != null && e.session == session ? e : null;
  }

  @GuardedBy("lock")
  private Entry byId(String instanceId) {
    int dash = instanceId.lastIndexOf('-');
    if (dash <= 0) {
      return null;
    }
    NavigableMap<Integer, Entry> instances = byStage.get(instanceId.substring(0, dash));
    try {
      return instances == null ? null : instances.get(Integer.parseInt(instanceId.substring(dash + 1)));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @GuardedBy("lock")
  private StageSpec stageOrThrow(String stageName) {
    if (stageName.isEmpty()) {
      throw Status.INVALID_ARGUMENT
          .withDescription("no stage named; set the stage name from the pipeline spec ("
              + String.join(", ", spec.stageNames()) + ")")
          .asRuntimeException();
    }
    return spec.stage(stageName).orElseThrow(() -> Status.NOT_FOUND
        .withDescription("stage '" + stageName + "' is not in pipeline '" + spec.name()
            + "' (stages: " + String.join(", ", spec.stageNames()) + "); use one of these stage names")
        .asRuntimeException());
  }

  private void notifyListeners() {
    for (Runnable listener : listeners) {
      listener.run();
    }
  }

  private static String stateName(InstanceState state) {
    return state.name().replace("INSTANCE_STATE_", "").toLowerCase(Locale.ROOT);
  }

  /** One instance's mutable record; only touched under the registry's lock. */
  private static final class Entry {
    final String stage;
    final int index;
    final String instanceId;
    final long session;
    final Endpoint endpoint;
    final Endpoint metricsEndpoint;
    final long pid;
    final String runtime;
    InstanceState state = InstanceState.INSTANCE_STATE_STARTING;
    String stateReason = "";
    long lastHeartbeatNanos;
    InstanceMetrics latestMetrics;
    InstanceMetrics previousMetrics;
    long latestMetricsNanos;
    long previousMetricsNanos;
    WatermarkReport watermark;
    // Set once the instance reports RUNNING: its services are up and it may be routed to.
    boolean serving;
    // Set once it has been sent routes in which every output has all its targets.
    boolean routesComplete;

    Entry(String stage, int index, long session, Register request, long nowNanos) {
      this.stage = stage;
      this.index = index;
      this.instanceId = InstanceSnapshot.instanceId(stage, index);
      this.session = session;
      this.endpoint = request.getEndpoint();
      this.metricsEndpoint = request.getMetricsEndpoint();
      this.pid = request.getPid();
      this.runtime = request.getRuntime();
      this.lastHeartbeatNanos = nowNanos;
    }

    boolean live() {
      return InstanceSnapshot.isLive(state);
    }

    InstanceSnapshot snapshot() {
      return new InstanceSnapshot(
          stage, index, instanceId, session, endpoint, metricsEndpoint, pid, runtime, state,
          stateReason, lastHeartbeatNanos, Optional.ofNullable(latestMetrics),
          Optional.ofNullable(previousMetrics), latestMetricsNanos, previousMetricsNanos,
          Optional.ofNullable(watermark));
    }
  }
}
