package io.sluice.coordinator.control;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.spec.CheckpointSpec;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.CheckpointMode;
import io.sluice.proto.v1.CheckpointSettings;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.SetMaxRate;
import io.sluice.proto.v1.ControlServiceGrpc;
import io.sluice.proto.v1.Drain;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Register;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.StateChange;
import io.sluice.proto.v1.WatermarkReport;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.partition.KeyGroups;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code ControlService}: one {@code Attach} stream per stage instance.
 *
 * <p>On {@code Register} the instance gets {@code Registered}, then at once its {@code
 * RouteUpdate}; every other instance whose routes changed gets a fresh one. Heartbeats, metrics,
 * watermarks and state changes go to the {@link InstanceRegistry}. When the stream breaks or ends
 * the instance is dead (unless it had finished), and the routes of the others are pushed again.
 *
 * <p>Source alignment: whenever the slowest source watermark changes (a source reports a
 * watermark, or an instance registers, finishes or dies), every live source instance gets {@code
 * AlignWatermarks} with it; a source instance also gets the current value when it registers.
 *
 * <p>Checkpoints (when the spec has {@code checkpoints:}): {@code Registered} carries the
 * {@code CheckpointSettings}; every route push goes through the {@link RouteGate}, which holds
 * routes while a restore runs (a registering instance then gets its {@code Restore} instead);
 * checkpoint acks, declines, restore answers and deaths go to the {@link ControlListener}.
 *
 * <p>Thread-safe: stream callbacks come from gRPC, one at a time per stream; the public methods
 * may be called from any thread. Writes to one stream are serialized by that stream, and route
 * updates reach each instance in version order (an older update that loses the race is dropped).
 */
public final class ControlServiceImpl extends ControlServiceGrpc.ControlServiceImplBase {
  private static final System.Logger LOG = System.getLogger(ControlServiceImpl.class.getName());

  private final PipelineSpec spec;
  private final InstanceRegistry registry;
  private final RouteComputer routes;
  private final PipelineLifecycle lifecycle;
  private final CommandBus bus;
  private final RouteGate gate;
  private final ControlListener listener;
  private final Optional<CheckpointSettings> checkpointSettings;
  private final SourceAligner aligner;

  /** The control plane of a pipeline without checkpoints: routes are never held. */
  public ControlServiceImpl(
      InstanceRegistry registry, RouteComputer routes, PipelineLifecycle lifecycle) {
    this(registry, routes, lifecycle, new CommandBus(registry, routes), RouteGate.OPEN,
        ControlListener.NONE);
  }

  /**
   * @param bus where commands go; shared with the checkpoint and recovery coordinators
   * @param gate holds routes during restores ({@link RouteGate#OPEN} without checkpoints)
   * @param listener hears checkpoint reports, restore answers and deaths
   */
  public ControlServiceImpl(
      InstanceRegistry registry,
      RouteComputer routes,
      PipelineLifecycle lifecycle,
      CommandBus bus,
      RouteGate gate,
      ControlListener listener) {
    this.spec = registry.spec();
    this.registry = registry;
    this.routes = routes;
    this.lifecycle = lifecycle;
    this.bus = bus;
    this.gate = gate;
    this.listener = listener;
    this.checkpointSettings = spec.checkpoints().map(c -> settings(c, spec.name()));
    this.aligner = new SourceAligner(registry, bus);
    // Registrations, state changes and deaths (from any thread) can move the slowest source.
    registry.addListener(aligner::refresh);
  }

  @Override
  public StreamObserver<io.sluice.proto.v1.StageReport> attach(
      StreamObserver<Command> responseObserver) {
    return new AttachSession(this, responseObserver);
  }

  /**
   * Pushes new routes to every instance whose routes changed, e.g. after a scale.
   *
   * @param cause what changed, for the log
   */
  public void pushRouteChanges(String cause) {
    gate.ifOpen(() -> bus.pushRouteChanges(cause));
  }

  /**
   * Drains the pipeline: every instance of every source stage is told to drain; the end of the
   * stream then flows down the graph and every instance finishes. The pipeline state becomes
   * "draining", then "finished" once every instance has finished.
   *
   * @return the source instances told to drain
   */
  public List<String> drainPipeline(String reason) {
    lifecycle.startDrain();
    List<String> told = new ArrayList<>();
    for (StageSpec stage : spec.stages()) {
      if (stage.role() != StageFactory.Role.SOURCE) {
        continue;
      }
      for (InstanceSnapshot instance : registry.instances(stage.name())) {
        if (instance.live() && bus.send(instance.instanceId(), drain(reason))) {
          told.add(instance.instanceId());
        }
      }
    }
    LOG.log(System.Logger.Level.INFO, "draining pipeline '" + spec.name() + "' (" + reason
        + "): told sources " + told);
    return told;
  }

  /** Tells one instance to drain (e.g. a source instance that a scale-in removes). */
  public boolean drainInstance(String instanceId, String reason) {
    return bus.send(instanceId, drain(reason));
  }

  /** Sends a new input rate cap to every live instance of a stage; returns those told. */
  public List<String> setMaxRate(String stage, double eventsPerSecond) {
    List<String> told = new ArrayList<>();
    Command c = Command.newBuilder()
        .setSetMaxRate(SetMaxRate.newBuilder().setEventsPerSecond(eventsPerSecond))
        .build();
    for (InstanceSnapshot instance : registry.instances(stage)) {
      if (instance.live() && bus.send(instance.instanceId(), c)) {
        told.add(instance.instanceId());
      }
    }
    LOG.log(System.Logger.Level.INFO, "max rate of '" + stage + "' set to " + eventsPerSecond
        + " events/s on " + told);
    return told;
  }

  /**
   * For the liveness monitor: these instances were just declared dead. Ends their streams (the
   * instance learns it must register again) and re-routes around them.
   */
  public void instancesDied(List<InstanceSnapshot> died) {
    for (InstanceSnapshot instance : died) {
      String reason = registry.instance(instance.instanceId())
          .map(InstanceSnapshot::stateReason)
          .orElse("dead");
      LOG.log(System.Logger.Level.WARNING, instance.instanceId() + " is dead: " + reason);
      bus.close(instance.instanceId(), instance.session(), Status.UNAVAILABLE.withDescription(
          "the coordinator declared " + instance.instanceId() + " dead (" + reason + "); restart"
              + " the instance so it registers again"));
    }
    // The listener first: a restore it starts holds the routes this push would send.
    listener.instancesDied(died);
    List<String> ids = died.stream().map(InstanceSnapshot::instanceId).toList();
    pushRouteChanges(String.join(", ", ids) + " died");
  }

  /** Ends every control stream; instances should reconnect to the next coordinator. */
  public void shutdown(String reason) {
    bus.closeAll(Status.UNAVAILABLE.withDescription(
        "the coordinator is shutting down (" + reason + "); reconnect and register again when it"
            + " is back"));
  }

  InstanceRegistry registry() {
    return registry;
  }

  ControlListener listener() {
    return listener;
  }

  /** Registers the instance and sends Registered and its routes; null if it was refused. */
  OutboundStream register(Register request, StreamObserver<Command> responses) {
    InstanceSnapshot instance;
    try {
      instance = registry.register(request);
    } catch (StatusRuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "refused registration of stage '" + request.getStage()
          + "' index " + request.getRequestedIndex() + ": " + e.getStatus().getDescription());
      responses.onError(e);
      return null;
    }
    StageSpec stage = spec.stage(instance.stage()).orElseThrow();
    int parallelism = registry.desiredParallelism(stage.name());
    OutboundStream out =
        new OutboundStream(stage.name(), instance.instanceId(), instance.session(), responses);
    out.send(Command.newBuilder().setRegistered(registered(stage, instance, parallelism)).build());
    LOG.log(System.Logger.Level.INFO, "registered " + instance.instanceId() + " (stage '"
        + stage.name() + "', type " + stage.type() + ", index " + instance.index() + " of "
        + parallelism + ", " + describe(instance) + ")");
    // Attach before issuing: an update issued by another thread from now on either reaches this
    // stream or is older than the one issued below, which then wins.
    bus.attach(out);
    gate.admit(instance, request.getEpoch(), () -> {
      RouteUpdate update = routes.issue(instance);
      bus.sendRoutes(out, update);
    });
    if (aligner.isSource(stage.name())) {
      aligner.attached(out);
    }
    if (lifecycle.draining() && stage.role() == StageFactory.Role.SOURCE) {
      out.send(drain("the pipeline is draining"));
    }
    pushRouteChanges(instance.instanceId() + " registered");
    return out;
  }

  /** Keeps the watermark; a source's may move the slowest source watermark. */
  void watermarkReported(OutboundStream out, WatermarkReport watermark) {
    if (registry.recordWatermark(out.instanceId(), out.session(), watermark)
        && aligner.isSource(out.stage())) {
      aligner.refresh();
    }
  }

  void stateReported(OutboundStream out, StateChange change) {
    if (registry.reportState(out.instanceId(), out.session(), change.getState(), change.getReason())) {
      String state =
          change.getState().name().replace("INSTANCE_STATE_", "").toLowerCase(Locale.ROOT);
      LOG.log(System.Logger.Level.INFO, out.instanceId() + " is " + state
          + (change.getReason().isEmpty() ? "" : " (" + change.getReason() + ")"));
      pushRouteChanges(out.instanceId() + " reported " + state);
    }
  }

  /** The stream ended or broke: the instance is dead unless it finished first. */
  void streamClosed(OutboundStream out, String reason) {
    bus.detach(out);
    if (registry.markDead(out.instanceId(), out.session(), reason)) {
      LOG.log(System.Logger.Level.WARNING, out.instanceId() + " is dead: " + reason);
      registry.instance(out.instanceId())
          .filter(i -> i.session() == out.session())
          .ifPresent(i -> listener.instancesDied(List.of(i)));
      pushRouteChanges(out.instanceId() + " died");
    }
  }

  private Registered registered(StageSpec stage, InstanceSnapshot instance, int parallelism) {
    KeyGroupRange keyGroups = instance.index() < parallelism
        ? KeyGroups.rangeFor(instance.index(), parallelism, spec.maxParallelism())
        : KeyGroupRange.getDefaultInstance();
    Registered.Builder registered = Registered.newBuilder()
        .setPipeline(spec.name())
        .setInstanceId(instance.instanceId())
        .setIndex(instance.index())
        .setStageType(stage.type())
        .setStageConfigJson(stage.settingsJson())
        .setHeartbeatIntervalMillis(spec.heartbeat().interval().toMillis())
        .setMaxParallelism(spec.maxParallelism())
        .setKeyGroups(keyGroups)
        .setBaseDir(spec.baseDir().toString())
        .setParallelism(parallelism)
        .setEpoch(routes.epoch());
    checkpointSettings.ifPresent(registered::setCheckpoints);
    return registered.build();
  }

  private static CheckpointSettings settings(CheckpointSpec checkpoints, String pipeline) {
    return CheckpointSettings.newBuilder()
        .setStorageDir(checkpoints.storageDir(pipeline).toString())
        .setMode(switch (checkpoints.mode()) {
          case EXACTLY_ONCE -> CheckpointMode.CHECKPOINT_MODE_EXACTLY_ONCE;
          case AT_LEAST_ONCE -> CheckpointMode.CHECKPOINT_MODE_AT_LEAST_ONCE;
        })
        .build();
  }

  private static Command drain(String reason) {
    return Command.newBuilder().setDrain(Drain.newBuilder().setReason(reason)).build();
  }

  private static String describe(InstanceSnapshot instance) {
    String runtime = instance.runtime().isEmpty() ? "runtime unknown" : instance.runtime();
    String pid = instance.pid() == 0 ? "" : " pid " + instance.pid();
    return runtime + pid + " at " + instance.endpoint().getHost() + ":"
        + instance.endpoint().getPort();
  }
}
