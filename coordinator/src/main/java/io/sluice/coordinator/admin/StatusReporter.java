package io.sluice.coordinator.admin;

import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.checkpoint.CheckpointStats;
import io.sluice.coordinator.events.ErrorEvent;
import io.sluice.coordinator.events.ErrorLog;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.Edge;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.coordinator.watermark.GlobalWatermark;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TopologyEdge;
import io.sluice.proto.v1.TopologyStage;
import io.sluice.runtime.partition.KeyGroups;
import java.util.List;
import java.util.Optional;

/**
 * Builds {@link PipelineStatus} and {@link Topology} from the registry (and, with checkpoints,
 * the checkpoint coordinator's recent checkpoints), the error log and the dashboard's address.
 * Thread-safe: it only reads snapshots; the dashboard URL is published once the dashboard is up.
 */
public final class StatusReporter {
  /** How many checkpoints {@code recent_checkpoints} lists. */
  public static final int RECENT_CHECKPOINTS = 5;
  /** How many errors {@code recent_errors} lists. */
  public static final int RECENT_ERRORS = 20;

  private final PipelineSpec spec;
  private final InstanceRegistry registry;
  private final PipelineLifecycle lifecycle;
  private final Optional<CheckpointCoordinator> checkpoints;
  private final ErrorLog errors;
  private volatile String dashboardUrl = "";

  /**
   * @param checkpoints fills {@code last_checkpoint} (the newest checkpoint of this run that
   *     completed or aborted) and {@code recent_checkpoints}; empty without checkpoints
   * @param errors fills {@code recent_errors}
   */
  public StatusReporter(
      InstanceRegistry registry,
      PipelineLifecycle lifecycle,
      Optional<CheckpointCoordinator> checkpoints,
      ErrorLog errors) {
    this.spec = registry.spec();
    this.registry = registry;
    this.lifecycle = lifecycle;
    this.checkpoints = checkpoints;
    this.errors = errors;
  }

  /** Publishes where the dashboard is served, for {@code dashboard_url}. Any thread. */
  public void dashboardUrl(String url) {
    this.dashboardUrl = url;
  }

  public PipelineStatus status() {
    long now = registry.nanoTime();
    List<InstanceSnapshot> all = registry.instances();
    PipelineStatus.Builder status = PipelineStatus.newBuilder()
        .setPipeline(spec.name())
        .setState(lifecycle.state().wireName())
        .setGlobalWatermark(GlobalWatermark.of(all))
        .setHeartbeatTimeoutMillis(spec.heartbeat().timeout().toMillis())
        .setDashboardUrl(dashboardUrl);
    checkpoints.flatMap(CheckpointCoordinator::lastFinished)
        .ifPresent(last -> status.setLastCheckpoint(CheckpointInfos.of(last)));
    checkpoints.ifPresent(c -> {
      List<CheckpointStats> history = c.history();
      history.subList(Math.max(0, history.size() - RECENT_CHECKPOINTS), history.size())
          .forEach(stats -> status.addRecentCheckpoints(CheckpointInfos.of(stats)));
    });
    for (ErrorEvent error : errors.latest(RECENT_ERRORS)) {
      status.addRecentErrors(io.sluice.proto.v1.ErrorEvent.newBuilder()
          .setAtMillis(error.atMillis())
          .setKind(error.kind().wireName())
          .setSource(error.source())
          .setMessage(error.message()));
    }
    for (StageSpec stage : spec.stages()) {
      int desired = registry.desiredParallelism(stage.name());
      StageStatus.Builder s = StageStatus.newBuilder()
          .setName(stage.name())
          .setType(stage.type())
          .setDesiredParallelism(desired)
          .addAllInputs(stage.upstreamStages());
      for (InstanceSnapshot instance : all) {
        if (instance.stage().equals(stage.name())) {
          s.addInstances(instance(instance, desired, now));
        }
      }
      status.addStages(s);
    }
    return status.build();
  }

  public Topology topology() {
    Topology.Builder topology = Topology.newBuilder().setPipeline(spec.name());
    for (StageSpec stage : spec.stages()) {
      topology.addStages(TopologyStage.newBuilder()
          .setName(stage.name())
          .setType(stage.type())
          .setParallelism(registry.desiredParallelism(stage.name())));
    }
    for (Edge edge : spec.edges()) {
      topology.addEdges(TopologyEdge.newBuilder()
          .setFromStage(edge.fromStage())
          .setOutput(edge.output())
          .setToStage(edge.toStage())
          .setPartitioning(edge.partitioning()));
    }
    return topology.build();
  }

  private InstanceStatus instance(InstanceSnapshot instance, int desired, long nowNanos) {
    MetricRates rates = MetricRates.of(instance);
    InstanceMetrics metrics = instance.latestMetrics().orElse(InstanceMetrics.getDefaultInstance());
    KeyGroupRange keyGroups = instance.index() < desired
        ? KeyGroups.rangeFor(instance.index(), desired, spec.maxParallelism())
        : KeyGroupRange.getDefaultInstance();
    boolean running = instance.state() == InstanceState.INSTANCE_STATE_RUNNING;
    return InstanceStatus.newBuilder()
        .setInstanceId(instance.instanceId())
        .setIndex(instance.index())
        .setState(instance.state())
        .setEndpoint(instance.endpoint())
        .setMetricsEndpoint(instance.metricsEndpoint())
        .setPid(instance.pid())
        .setRuntime(instance.runtime())
        .setLastHeartbeatAgeMillis(Math.max(0, (nowNanos - instance.lastHeartbeatNanos()) / 1_000_000))
        .setStateReason(running ? "" : instance.stateReason())
        .setRecordsInPerSecond(rates.recordsInPerSecond())
        .setRecordsOutPerSecond(rates.recordsOutPerSecond())
        .setBusyRatio(rates.busyRatio())
        .setBackpressuredRatio(rates.backpressuredRatio())
        .setIdleRatio(rates.idleRatio())
        .setRecordsIn(metrics.getRecordsIn())
        .setRecordsOut(metrics.getRecordsOut())
        .setDeadLetters(metrics.getDeadLetters())
        .setWatermark(instance.watermark().map(w -> w.getWatermark()).orElse(GlobalWatermark.UNKNOWN))
        .setWatermarkIdle(instance.watermark().map(w -> w.getIdle()).orElse(false))
        .setInboxDepth(metrics.getInboxDepth())
        .setHeapUsedBytes(metrics.getHeapUsedBytes())
        .setDirectUsedBytes(metrics.getDirectUsedBytes())
        .setRssBytes(metrics.getRssBytes())
        .setKeyGroups(keyGroups)
        .build();
  }
}
