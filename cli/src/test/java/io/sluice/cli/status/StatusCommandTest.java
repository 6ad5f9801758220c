package io.sluice.cli.status;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.sluice.cli.CliRunner;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.GetTopologyRequest;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.ErrorEvent;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TopologyEdge;
import io.sluice.proto.v1.TopologyStage;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StatusCommandTest {
  private static final long WATERMARK = 1_767_225_605_000L; // 2026-01-01T00:00:05Z

  private Server server;

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A real AdminService on loopback that serves a fixed status and (optionally) a topology. */
  private String serve(PipelineStatus status, Topology topology) throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new AdminServiceGrpc.AdminServiceImplBase() {
                  @Override
                  public void getStatus(
                      GetStatusRequest request, StreamObserver<PipelineStatus> response) {
                    response.onNext(status);
                    response.onCompleted();
                  }

                  @Override
                  public void getTopology(
                      GetTopologyRequest request, StreamObserver<Topology> response) {
                    if (topology == null) {
                      super.getTopology(request, response); // UNIMPLEMENTED
                      return;
                    }
                    response.onNext(topology);
                    response.onCompleted();
                  }
                })
            .build()
            .start();
    return "127.0.0.1:" + server.getPort();
  }

  private static PipelineStatus status() {
    return PipelineStatus.newBuilder()
        .setPipeline("clicks")
        .setState("degraded")
        .setGlobalWatermark(WATERMARK)
        .setDashboardUrl("http://127.0.0.1:7080/")
        .setHeartbeatTimeoutMillis(5000)
        .setLastCheckpoint(
            CheckpointInfo.newBuilder()
                .setCheckpointId(12)
                .setState("completed")
                .setDurationMillis(120)
                .setSizeBytes(34 * 1024))
        .addRecentCheckpoints(
            CheckpointInfo.newBuilder()
                .setCheckpointId(11)
                .setState("aborted")
                .setDurationMillis(30_000)
                .setFailureReason("declined by per-user-1: disk full"))
        .addRecentCheckpoints(
            CheckpointInfo.newBuilder()
                .setCheckpointId(12)
                .setState("completed")
                .setDurationMillis(120)
                .setSizeBytes(34 * 1024)
                .setMaxAlignmentMillis(7))
        .addRecentErrors(
            ErrorEvent.newBuilder()
                .setAtMillis(WATERMARK)
                .setKind("checkpoint_aborted")
                .setSource("checkpoint 11")
                .setMessage("aborted after 30000 ms: declined by per-user-1: disk full"))
        .addRecentErrors(
            ErrorEvent.newBuilder()
                .setAtMillis(WATERMARK + 1000)
                .setKind("instance_dead")
                .setSource("per-user-1")
                .setMessage("missed heartbeats for 6.2 s"))
        .addStages(
            StageStatus.newBuilder()
                .setName("in")
                .setType("ingest")
                .setDesiredParallelism(1)
                .addInstances(
                    InstanceStatus.newBuilder()
                        .setInstanceId("clicks/in/0")
                        .setIndex(0)
                        .setState(InstanceState.INSTANCE_STATE_RUNNING)
                        .setEndpoint(endpoint(7001))
                        .setMetricsEndpoint(endpoint(9464))
                        .setPid(4242)
                        .setRuntime("java")
                        .setLastHeartbeatAgeMillis(400)
                        .setRecordsInPerSecond(12_345)
                        .setRecordsOutPerSecond(12_345)
                        .setBusyRatio(0.25)
                        .setBackpressuredRatio(0.5)
                        .setWatermark(WATERMARK)))
        .addStages(
            StageStatus.newBuilder()
                .setName("per-user")
                .setType("count")
                .setDesiredParallelism(2)
                .addInputs("buys")
                .addInstances(
                    InstanceStatus.newBuilder()
                        .setInstanceId("clicks/per-user/1")
                        .setIndex(1)
                        .setState(InstanceState.INSTANCE_STATE_DEAD)
                        .setEndpoint(endpoint(7003))
                        .setPid(4343)
                        .setLastHeartbeatAgeMillis(6200)
                        .setStateReason("missed heartbeats for 6.2 s")
                        .setWatermark(Long.MIN_VALUE)
                        .setKeyGroups(KeyGroupRange.newBuilder().setStart(64).setEnd(128))))
        .build();
  }

  private static Endpoint endpoint(int port) {
    return Endpoint.newBuilder().setHost("127.0.0.1").setPort(port).build();
  }

  private static Topology topology() {
    return Topology.newBuilder()
        .setPipeline("clicks")
        .addStages(TopologyStage.newBuilder().setName("in").setType("ingest").setParallelism(1))
        .addEdges(
            TopologyEdge.newBuilder()
                .setFromStage("buys")
                .setToStage("per-user")
                .setPartitioning(Partitioning.PARTITIONING_HASH))
        .addEdges(
            TopologyEdge.newBuilder()
                .setFromStage("buys")
                .setOutput("dead-letter")
                .setToStage("errors")
                .setPartitioning(Partitioning.PARTITIONING_ROUND_ROBIN))
        .build();
  }

  @Test
  void theTableShowsEveryInstanceWithItsStateRatesAndReason() throws Exception {
    String target = serve(status(), topology());

    CliRunner.Result r = CliRunner.run("status", "--coordinator", target);

    assertThat(r.exitCode()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(0))
        .isEqualTo("pipeline clicks: degraded   global watermark 2026-01-01T00:00:05.000Z");
    assertThat(lines).contains("last checkpoint: #12 completed, 120 ms, 34.0 KiB");
    assertThat(lines).contains("dashboard: http://127.0.0.1:7080/");
    String header = lines.stream().filter(l -> l.startsWith("STAGE")).findFirst().orElseThrow();
    assertThat(header.split("\\s+"))
        .containsExactly(
            "STAGE",
            "TYPE",
            "INSTANCE",
            "STATE",
            "PID",
            "ADDRESS",
            "IN/s",
            "OUT/s",
            "BUSY",
            "BACKPR",
            "HEARTBEAT",
            "WATERMARK",
            "REASON");
    String in = lines.stream().filter(l -> l.startsWith("in ")).findFirst().orElseThrow();
    assertThat(in.split("\\s{2,}"))
        .containsExactly(
            "in",
            "ingest",
            "clicks/in/0",
            "RUNNING",
            "4242",
            "127.0.0.1:7001",
            "12.3k",
            "12.3k",
            "25%",
            "50%",
            "0.4 s",
            "2026-01-01T00:00:05.000Z");
    String dead = lines.stream().filter(l -> l.startsWith("per-user")).findFirst().orElseThrow();
    assertThat(dead.split("\\s{2,}"))
        .containsExactly(
            "per-user",
            "count",
            "clicks/per-user/1",
            "DEAD",
            "4343",
            "127.0.0.1:7003",
            "0.0",
            "0.0",
            "0%",
            "0%",
            "6.2 s",
            "-",
            "missed heartbeats for 6.2 s");
    // Columns line up: every row's STATE starts where the header's does.
    int stateColumn = header.indexOf("STATE");
    assertThat(in.indexOf("RUNNING")).isEqualTo(stateColumn);
    assertThat(dead.indexOf("DEAD")).isEqualTo(stateColumn);
    assertThat(lines)
        .contains("  buys -> per-user (hash)", "  buys.dead-letter -> errors (round_robin)");
    // Newest first, as the dashboard lists them.
    assertThat(lines).containsSubsequence(
        "recent checkpoints:",
        "  #12 completed, 120 ms, 34.0 KiB, alignment 7 ms",
        "  #11 aborted, 30000 ms: declined by per-user-1: disk full",
        "recent errors:",
        "  2026-01-01T00:00:06.000Z  instance_dead  per-user-1: missed heartbeats for 6.2 s",
        "  2026-01-01T00:00:05.000Z  checkpoint_aborted  checkpoint 11: aborted after 30000 ms:"
            + " declined by per-user-1: disk full");
  }

  @Test
  void jsonHasAddressesPidsStatesAndTheDashboard() throws Exception {
    String target = serve(status(), topology());

    CliRunner.Result r = CliRunner.run("status", "--coordinator", target, "--json");

    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode doc = new ObjectMapper().readTree(r.out());
    assertThat(doc.get("pipeline").asText()).isEqualTo("clicks");
    assertThat(doc.get("state").asText()).isEqualTo("degraded");
    assertThat(doc.get("dashboardUrl").asText()).isEqualTo("http://127.0.0.1:7080/");
    assertThat(doc.get("globalWatermark").asLong()).isEqualTo(WATERMARK);
    assertThat(doc.get("globalWatermarkIso").asText()).isEqualTo("2026-01-01T00:00:05.000Z");
    assertThat(doc.get("lastCheckpoint").get("checkpointId").asLong()).isEqualTo(12);
    assertThat(doc.get("recentCheckpoints")).extracting(c -> c.get("checkpointId").asLong())
        .containsExactly(11L, 12L);
    assertThat(doc.get("recentCheckpoints").get(1).get("maxAlignmentMillis").asLong())
        .isEqualTo(7);
    assertThat(doc.get("recentErrors")).hasSize(2);
    JsonNode death = doc.get("recentErrors").get(1);
    assertThat(death.get("kind").asText()).isEqualTo("instance_dead");
    assertThat(death.get("source").asText()).isEqualTo("per-user-1");
    assertThat(death.get("atIso").asText()).isEqualTo("2026-01-01T00:00:06.000Z");
    assertThat(death.get("message").asText()).isEqualTo("missed heartbeats for 6.2 s");
    JsonNode in = doc.get("stages").get(0).get("instances").get(0);
    assertThat(in.get("instanceId").asText()).isEqualTo("clicks/in/0");
    assertThat(in.get("grpcAddress").asText()).isEqualTo("127.0.0.1:7001");
    assertThat(in.get("metricsAddress").asText()).isEqualTo("127.0.0.1:9464");
    assertThat(in.get("metricsUrl").asText()).isEqualTo("http://127.0.0.1:9464/metrics");
    assertThat(in.get("pid").asLong()).isEqualTo(4242);
    assertThat(in.get("state").asText()).isEqualTo("RUNNING");
    assertThat(in.get("recordsInPerSecond").asDouble()).isEqualTo(12_345.0);
    assertThat(in.get("keyGroups").isNull()).isTrue();
    assertThat(in.get("watermark").asLong()).isEqualTo(WATERMARK);
    assertThat(in.get("watermarkIso").asText()).isEqualTo("2026-01-01T00:00:05.000Z");
    JsonNode dead = doc.get("stages").get(1).get("instances").get(0);
    assertThat(dead.get("state").asText()).isEqualTo("DEAD");
    assertThat(dead.get("reason").asText()).isEqualTo("missed heartbeats for 6.2 s");
    assertThat(dead.get("metricsAddress").asText()).isEmpty();
    assertThat(dead.get("watermark").isNull()).isTrue();
    assertThat(dead.has("watermarkIso")).isTrue();
    assertThat(dead.get("watermarkIso").isNull()).isTrue();
    assertThat(dead.get("keyGroups").get("start").asInt()).isEqualTo(64);
    assertThat(doc.get("stages").get(1).get("inputs").get(0).asText()).isEqualTo("buys");
    assertThat(doc.get("edges").get(0).get("partitioning").asText()).isEqualTo("hash");
  }

  /** The status after every input ended: the watermarks are INT64_MAX, or unknown. */
  private static PipelineStatus ended() {
    return PipelineStatus.newBuilder()
        .setPipeline("clicks")
        .setState("finished")
        .setGlobalWatermark(Long.MAX_VALUE)
        .addStages(
            StageStatus.newBuilder()
                .setName("in")
                .setType("ingest")
                .setDesiredParallelism(2)
                .addInstances(
                    InstanceStatus.newBuilder()
                        .setInstanceId("in-0")
                        .setState(InstanceState.INSTANCE_STATE_FINISHED)
                        .setWatermark(Long.MAX_VALUE))
                .addInstances(
                    InstanceStatus.newBuilder()
                        .setInstanceId("in-1")
                        .setIndex(1)
                        .setState(InstanceState.INSTANCE_STATE_FINISHED)
                        .setWatermark(-1_500))) // event time before 1970 is still a time
        .build();
  }

  @Test
  void anEndedWatermarkReadsEndAndTimesBefore1970AreStillIso() throws Exception {
    String target = serve(ended(), null);

    CliRunner.Result table = CliRunner.run("status", "--coordinator", target);
    CliRunner.Result json = CliRunner.run("status", "--coordinator", target, "--json");

    assertThat(table.exitCode()).as(table.err()).isZero();
    List<String> lines = table.out().lines().toList();
    assertThat(lines.get(0)).isEqualTo("pipeline clicks: finished   global watermark end");
    int column =
        lines.stream().filter(l -> l.startsWith("STAGE")).findFirst().orElseThrow()
            .indexOf("WATERMARK");
    assertThat(lines.stream().filter(l -> l.startsWith("in ")).map(l -> l.substring(column)))
        .containsExactly("end", "1969-12-31T23:59:58.500Z");
    assertThat(json.exitCode()).as(json.err()).isZero();
    JsonNode doc = new ObjectMapper().readTree(json.out());
    assertThat(doc.get("globalWatermark").asLong()).isEqualTo(Long.MAX_VALUE);
    assertThat(doc.get("globalWatermarkIso").asText()).isEqualTo("end");
    JsonNode in1 = doc.get("stages").get(0).get("instances").get(1);
    assertThat(in1.get("watermark").asLong()).isEqualTo(-1_500);
    assertThat(in1.get("watermarkIso").asText()).isEqualTo("1969-12-31T23:59:58.500Z");
  }

  @Test
  void withoutTopologyTheEdgesComeFromTheStagesInputs() throws Exception {
    String target = serve(status(), null);

    CliRunner.Result r = CliRunner.run("status", "--coordinator", target);

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out().lines()).contains("  buys -> per-user");
  }

  @Test
  void anUnreachableCoordinatorExitsOneAndSaysWhatToDo() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }

    CliRunner.Result r = CliRunner.run("status", "--coordinator", "127.0.0.1:" + port);

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err())
        .startsWith("sluice status: UNAVAILABLE")
        .contains("the coordinator at 127.0.0.1:" + port)
        .contains("sluice up");
  }

  @Test
  void aFailingCoordinatorIsReportedWithItsDescription() throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new AdminServiceGrpc.AdminServiceImplBase() {
                  @Override
                  public void getStatus(
                      GetStatusRequest request, StreamObserver<PipelineStatus> response) {
                    response.onError(
                        Status.FAILED_PRECONDITION
                            .withDescription("no pipeline loaded")
                            .asRuntimeException());
                  }
                })
            .build()
            .start();

    CliRunner.Result r = CliRunner.run("status", "--coordinator", "127.0.0.1:" + server.getPort());

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("FAILED_PRECONDITION: no pipeline loaded");
  }
}
