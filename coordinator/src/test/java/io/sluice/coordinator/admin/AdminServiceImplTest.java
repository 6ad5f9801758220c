package io.sluice.coordinator.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.testing.InProcessCoordinator;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.DrainRequest;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.ListCheckpointsRequest;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.ScaleRequest;
import io.sluice.proto.v1.ScaleResponse;
import io.sluice.proto.v1.StageReport;
import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TopologyEdge;
import io.sluice.proto.v1.TriggerSavepointRequest;
import io.sluice.proto.v1.WatermarkReport;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AdminServiceImplTest {
  private final InProcessCoordinator coordinator = new InProcessCoordinator(Specs.parse("""
      pipeline: clicks
      heartbeat: {interval: 1s, timeout: 4s}
      stages:
        - {name: in, type: ingest, replicas: 2}
        - {name: buys, type: filter, from: in, replicas: 2}
        - {name: per-user, type: count, from: buys}
      """));

  @AfterEach
  void tearDown() throws InterruptedException {
    coordinator.close();
  }

  private InstanceClient registered(String stage, int index) throws InterruptedException {
    InstanceClient client = coordinator.attach();
    client.registerAndAwait(stage, index);
    client.nextRoutes();
    if (stage.equals("in")) {
      // A source also gets the slowest source watermark: unknown, as it has reported none yet.
      assertThat(client.nextAlignment()).isEqualTo(Long.MIN_VALUE);
    }
    return client;
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    return Status.Code.OK;
  }

  @Test
  void statusListsStagesInstancesAndTheirState() throws Exception {
    registered("in", 1);
    coordinator.ticker.advance(Duration.ofMillis(1500));
    PipelineStatus status = coordinator.status();
    assertThat(status.getPipeline()).isEqualTo("clicks");
    assertThat(status.getState()).isEqualTo("starting");
    assertThat(status.getHeartbeatTimeoutMillis()).isEqualTo(4000);
    assertThat(status.getGlobalWatermark()).isEqualTo(Long.MIN_VALUE);
    assertThat(status.getStagesList()).extracting(s -> s.getName())
        .containsExactly("in", "buys", "per-user");
    assertThat(status.getStages(2).getInputsList()).containsExactly("buys");
    assertThat(status.getStages(1).getDesiredParallelism()).isEqualTo(2);

    InstanceStatus in1 = status.getStages(0).getInstances(0);
    assertThat(in1.getInstanceId()).isEqualTo("in-1");
    assertThat(in1.getPid()).isEqualTo(4242);
    assertThat(in1.getRuntime()).isEqualTo("java");
    assertThat(in1.getEndpoint().getPort()).isEqualTo(7101);
    assertThat(in1.getLastHeartbeatAgeMillis()).isEqualTo(1500);
    assertThat(in1.getKeyGroups())
        .isEqualTo(KeyGroupRange.newBuilder().setStart(64).setEnd(128).build());
  }

  @Test
  void statusComputesRatesFromTheLastTwoMetricsSamples() throws Exception {
    InstanceClient in = registered("in", 0);
    in.send(StageReport.newBuilder().setMetrics(InstanceMetrics.newBuilder()
        .setRecordsIn(100).setRecordsOut(100).setBusyMillis(100).setIdleMillis(900)
        .setSampledAtMillis(10_000)).build());
    in.send(StageReport.newBuilder().setMetrics(InstanceMetrics.newBuilder()
        .setRecordsIn(2100).setRecordsOut(1100).setBusyMillis(600).setBackpressuredMillis(250)
        .setIdleMillis(1050).setDeadLetters(3).setInboxDepth(7).setSampledAtMillis(12_000))
        .build());
    in.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(5_000)).build());

    InstanceStatus status = coordinator.instanceStatus("in-0");
    assertThat(status.getRecordsInPerSecond()).isEqualTo(1000.0);
    assertThat(status.getRecordsOutPerSecond()).isEqualTo(500.0);
    assertThat(status.getBusyRatio()).isEqualTo(0.25);
    assertThat(status.getBackpressuredRatio()).isEqualTo(0.125);
    assertThat(status.getIdleRatio()).isEqualTo(0.075);
    assertThat(status.getRecordsIn()).isEqualTo(2100);
    assertThat(status.getDeadLetters()).isEqualTo(3);
    assertThat(status.getInboxDepth()).isEqualTo(7);
    assertThat(status.getWatermark()).isEqualTo(5_000);
  }

  @Test
  void globalWatermarkIsTheMinimumOverNonIdleInstances() throws Exception {
    InstanceClient a = registered("in", 0);
    InstanceClient b = registered("in", 1);
    a.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(9_000)).build());
    assertThat(coordinator.status().getGlobalWatermark()).isEqualTo(Long.MIN_VALUE);
    b.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(7_000)).build());
    assertThat(coordinator.status().getGlobalWatermark()).isEqualTo(7_000);
    b.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(7_000).setIdle(true)).build());
    assertThat(coordinator.status().getGlobalWatermark()).isEqualTo(9_000);
  }

  @Test
  void topologyHasStagesAndEdges() {
    Topology topology = coordinator.admin.getTopology(
        io.sluice.proto.v1.GetTopologyRequest.getDefaultInstance());
    assertThat(topology.getStagesList()).extracting(s -> s.getName() + "/" + s.getParallelism())
        .containsExactly("in/2", "buys/2", "per-user/1");
    assertThat(topology.getEdgesList()).containsExactly(
        TopologyEdge.newBuilder().setFromStage("in").setToStage("buys")
            .setPartitioning(Partitioning.PARTITIONING_ROUND_ROBIN).build(),
        TopologyEdge.newBuilder().setFromStage("buys").setToStage("per-user")
            .setPartitioning(Partitioning.PARTITIONING_HASH).build());
  }

  @Test
  void scalingAStatelessStagePushesRoutes() throws Exception {
    InstanceClient in = registered("in", 0);
    ScaleResponse response = coordinator.admin.scale(
        ScaleRequest.newBuilder().setStage("buys").setParallelism(3).build());
    assertThat(response.getPreviousParallelism()).isEqualTo(2);
    assertThat(response.getParallelism()).isEqualTo(3);
    RouteUpdate routes = in.nextRoutes();
    assertThat(routes.getOutputs(0).getExpectedParallelism()).isEqualTo(3);
    assertThat(coordinator.status().getStages(1).getDesiredParallelism()).isEqualTo(3);

    InstanceClient b2 = registered("buys", 2);
    b2.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    assertThat(RouteComputer.targetIds(in.nextRoutes().getOutputs(0))).containsExactly("buys-2");
    b2.pending();
  }

  @Test
  void scalingInASourceDrainsTheReplicasBeyondTheNewParallelism() throws Exception {
    InstanceClient in0 = registered("in", 0);
    InstanceClient in1 = registered("in", 1);
    coordinator.admin.scale(ScaleRequest.newBuilder().setStage("in").setParallelism(1).build());
    assertThat(in1.pending()).anySatisfy(c -> assertThat(c.getDrain().getReason())
        .isEqualTo("stage 'in' scaled in to 1"));
    assertThat(in0.pending()).noneMatch(c -> c.hasDrain());
  }

  @Test
  void scalingAStatefulStageNeedsASavepoint() {
    assertThatThrownBy(() -> coordinator.admin.scale(
        ScaleRequest.newBuilder().setStage("per-user").setParallelism(2).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription())
              .startsWith("stage 'per-user' keeps keyed state; rescale it through a savepoint");
        });
    assertThat(code(() -> coordinator.admin.scale(
        ScaleRequest.newBuilder().setStage("nope").setParallelism(2).build())))
        .isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void checkpointCallsSayThePipelineDoesNotCheckpoint() {
    assertThatThrownBy(() -> coordinator.admin.listCheckpoints(
        ListCheckpointsRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription())
              .contains("pipeline 'clicks' does not checkpoint: add a 'checkpoints:' section");
        });
    assertThat(code(() -> coordinator.admin.triggerSavepoint(
        TriggerSavepointRequest.getDefaultInstance())))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
  }

  @Test
  void drainTellsEverySourceInstance() throws Exception {
    InstanceClient in0 = registered("in", 0);
    InstanceClient in1 = registered("in", 1);
    InstanceClient buys = registered("buys", 0);
    coordinator.admin.drain(DrainRequest.newBuilder().setReason("deploy").build());
    assertThat(in0.pending()).anySatisfy(c -> assertThat(c.getDrain().getReason()).isEqualTo("deploy"));
    assertThat(in1.pending()).anySatisfy(c -> assertThat(c.hasDrain()).isTrue());
    assertThat(buys.pending()).noneMatch(c -> c.hasDrain());
    assertThat(coordinator.status().getState()).isEqualTo("draining");
  }
}
