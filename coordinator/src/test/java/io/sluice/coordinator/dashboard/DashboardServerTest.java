package io.sluice.coordinator.dashboard;

import static io.sluice.coordinator.testing.RunningPipeline.only;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.coordinator.Coordinator;
import io.sluice.coordinator.testing.InMemoryCheckpointStore;
import io.sluice.coordinator.testing.InProcessCoordinator;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.RunningPipeline;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageReport;
import io.sluice.proto.v1.WatermarkReport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's HTTP API over a real loopback server, on top of the coordinator's parts wired as
 * in production, with fake time and instances that report over in-process control streams.
 */
class DashboardServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAIN = """
      pipeline: pressure
      heartbeat: {interval: 1s, timeout: 4s}
      stages:
        - {name: in, type: ingest}
        - {name: relay, type: filter, from: in, where: {field: $.a, equals: b}, replicas: 2}
        - {name: out, type: count, from: relay}
      """;
  private static final String CHECKPOINTED = """
      pipeline: clicks
      checkpoints: {interval: 10s, timeout: 30s, dir: /srv/ckpt}
      heartbeat: {interval: 1s, timeout: 4s}
      stages:
        - {name: in, type: ingest}
        - {name: per-user, type: count, from: in}
      """;

  private final HttpClient http = HttpClient.newHttpClient();
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private InProcessCoordinator coordinator;
  private RateHistory history;
  private StatusSampler sampler;
  private String base;

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
    if (coordinator != null) {
      coordinator.close();
    }
  }

  private void serve(InProcessCoordinator c) throws IOException {
    coordinator = c;
    Coordinator parts = c.coordinator;
    history = new RateHistory(5);
    sampler = new StatusSampler(parts.reporter(), history, Set.of("in"), parts.errors(),
        c.ticker.clock());
    DashboardServer server = DashboardServer.start("127.0.0.1", 0, new DashboardServer.Views(
        parts.reporter(), parts.checkpoints(), parts.errors(), history, Duration.ofSeconds(1),
        parts.metrics(), c.ticker.clock()));
    toClose.add(server);
    base = "http://127.0.0.1:" + server.port();
    assertThat(server.url()).isEqualTo(base + "/");
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode getJson(String path) throws Exception {
    HttpResponse<String> response = get(path);
    assertThat(response.statusCode()).as("GET %s: %s", path, response.body()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
        t -> assertThat(t).startsWith("application/json"));
    return JSON.readTree(response.body());
  }

  private InstanceClient running(String stage, int index) throws Exception {
    InstanceClient client = coordinator.attach();
    client.registerAndAwait(stage, index);
    client.reportState(io.sluice.proto.v1.InstanceState.INSTANCE_STATE_RUNNING, "serving");
    return client;
  }

  /** Two samples a second apart: records in/out per second and the share of backpressured time. */
  private static void report(InstanceClient client, long recordsPerSecond, long backpressuredMillis,
      long deadLetters) {
    client.send(StageReport.newBuilder().setMetrics(InstanceMetrics.newBuilder()
        .setSampledAtMillis(1_000).setIdleMillis(1_000)).build());
    client.send(StageReport.newBuilder().setMetrics(InstanceMetrics.newBuilder()
        .setSampledAtMillis(2_000).setRecordsIn(recordsPerSecond).setRecordsOut(recordsPerSecond)
        .setBackpressuredMillis(backpressuredMillis)
        .setBusyMillis(1_000 - backpressuredMillis).setIdleMillis(1_000)
        .setDeadLetters(deadLetters)).build());
  }

  @Test
  void statusSumsEachStageAndFlagsTheBackpressuredOne() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHAIN)));
    InstanceClient in = running("in", 0);
    InstanceClient relay0 = running("relay", 0);
    InstanceClient relay1 = running("relay", 1);
    InstanceClient out = running("out", 0);
    report(in, 900, 0, 0);
    report(relay0, 300, 800, 0);
    report(relay1, 200, 600, 0);
    report(out, 500, 0, 0);
    relay0.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(70_000)).build());
    relay1.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(50_000)).build());

    JsonNode status = getJson("/api/status");
    assertThat(status.get("pipeline").asText()).isEqualTo("pressure");
    assertThat(status.get("state").asText()).isEqualTo("running");
    assertThat(status.get("generatedAtMillis").asLong())
        .isEqualTo(coordinator.ticker.clock().millis());
    JsonNode stages = status.get("stages");
    assertThat(stages).extracting(s -> s.get("name").asText())
        .containsExactly("in", "relay", "out");
    JsonNode relay = stages.get(1);
    assertThat(relay.get("running").asInt()).isEqualTo(2);
    assertThat(relay.get("recordsInPerSecond").asDouble()).isEqualTo(500.0);
    assertThat(relay.get("backpressuredRatio").asDouble()).isEqualTo(0.7);
    assertThat(relay.get("maxBackpressuredRatio").asDouble()).isEqualTo(0.8);
    assertThat(relay.get("backpressured").asBoolean()).isTrue();
    assertThat(relay.get("watermark").asLong()).isEqualTo(50_000);
    assertThat(relay.get("instances")).hasSize(2);
    assertThat(relay.get("instances").get(0).get("state").asText()).isEqualTo("running");
    assertThat(stages.get(0).get("backpressured").asBoolean()).isFalse();
    assertThat(stages.get(2).get("backpressured").asBoolean()).isFalse();
    assertThat(stages.get(2).get("watermark").isNull()).isTrue();
    // "in" and "out" have reported no watermark: the global one is unknown.
    assertThat(status.get("globalWatermark").isNull()).isTrue();
    assertThat(status.get("globalWatermarkLagMillis").isNull()).isTrue();
    assertThat(status.get("dashboardUrl").asText()).isEmpty(); // published by CoordinatorServer
  }

  @Test
  void topologyGivesEveryStageItsReplicasAndColumn() throws Exception {
    serve(new InProcessCoordinator(Specs.parse("""
        pipeline: fan
        stages:
          - {name: in, type: ingest}
          - {name: a, type: filter, from: in, where: {field: $.a, equals: b}, replicas: 3}
          - {name: b, type: count, from: [in, a]}
        """)));
    JsonNode topology = getJson("/api/topology");
    assertThat(topology.get("nodes")).extracting(
        n -> n.get("name").asText() + "/" + n.get("replicas").asInt() + "@" + n.get("depth").asInt())
        .containsExactly("in/1@0", "a/3@1", "b/1@2");
    assertThat(topology.get("edges")).extracting(
        e -> e.get("from").asText() + "->" + e.get("to").asText() + " " + e.get("partitioning").asText())
        .containsExactlyInAnyOrder("in->a round_robin", "in->b hash", "a->b hash");
  }

  @Test
  void checkpointsAndErrorsShowAnAbortAndADeathNewestFirst() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHECKPOINTED), new InMemoryCheckpointStore()));
    assertThat(getJson("/api/checkpoints").get("configured").asBoolean()).isTrue();
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    coordinator.scheduler.advance(Duration.ofSeconds(10));
    only(pipeline.drain().get("in-0"), Command.KindCase.TRIGGER_CHECKPOINT);
    coordinator.scheduler.advance(Duration.ofMillis(40));
    pipeline.ackAll(1, 1);
    coordinator.scheduler.advance(Duration.ofSeconds(10));
    pipeline.drain();
    pipeline.get("per-user-0").decline(2, "disk full");

    JsonNode checkpoints = getJson("/api/checkpoints").get("checkpoints");
    assertThat(checkpoints).extracting(c -> c.get("checkpointId").asLong() + " "
        + c.get("state").asText()).containsExactly("2 aborted", "1 completed");
    assertThat(checkpoints.get(0).get("failureReason").asText())
        .isEqualTo("declined by per-user-0: disk full");
    assertThat(checkpoints.get(1).get("durationMillis").asLong()).isEqualTo(40);
    assertThat(checkpoints.get(1).has("maxAlignmentMillis")).isTrue();

    coordinator.ticker.advance(Duration.ofSeconds(5));
    coordinator.liveness.check(); // nobody heartbeats: every instance is silent for 5 s

    JsonNode errors = getJson("/api/errors").get("errors");
    List<String> kinds = new ArrayList<>();
    errors.forEach(e -> kinds.add(e.get("kind").asText() + " " + e.get("source").asText()));
    assertThat(kinds).containsSubsequence("instance_dead per-user-0", "checkpoint_aborted checkpoint 2",
        "checkpoint_declined per-user-0");
    assertThat(kinds).contains("instance_dead in-0", "restore_started clicks");
    JsonNode death = errors.get(kinds.indexOf("instance_dead in-0"));
    assertThat(death.get("message").asText()).startsWith("missed heartbeats for ")
        .endsWith("(timeout 4 s)");
    assertThat(death.get("atMillis").asLong()).isEqualTo(coordinator.ticker.clock().millis());

    // GetStatus carries the same, oldest first.
    PipelineStatus status = coordinator.status();
    assertThat(status.getRecentCheckpointsList()).extracting(c -> c.getCheckpointId())
        .containsExactly(1L, 2L);
    assertThat(status.getRecentErrorsList()).extracting(e -> e.getKind())
        .startsWith("checkpoint_declined", "checkpoint_aborted")
        .contains("instance_dead", "restore_started");
  }

  @Test
  void historyKeepsTheLatestSamplesAndAnswersSince() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHAIN)));
    InstanceClient in = running("in", 0);
    InstanceClient relay = running("relay", 0);
    report(in, 900, 0, 0);
    report(relay, 400, 750, 0);
    List<Long> times = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      sampler.sample();
      times.add(coordinator.ticker.clock().millis());
      coordinator.ticker.advance(Duration.ofSeconds(1));
    }
    JsonNode doc = getJson("/api/history");
    assertThat(doc.get("intervalMillis").asLong()).isEqualTo(1000);
    assertThat(doc.get("capacity").asInt()).isEqualTo(5);
    JsonNode samples = doc.get("samples");
    assertThat(samples).extracting(s -> s.get("atMillis").asLong())
        .containsExactlyElementsOf(times.subList(2, 7));
    JsonNode last = samples.get(4).get("stages");
    assertThat(last.get("in").get("rate").asDouble()).isEqualTo(900.0); // a source: what it sends
    assertThat(last.get("relay").get("rate").asDouble()).isEqualTo(400.0);
    assertThat(last.get("relay").get("backpressuredRatio").asDouble()).isEqualTo(0.75);
    assertThat(last.get("out").get("rate").asDouble()).isZero();

    assertThat(getJson("/api/history?since=" + times.get(4)).get("samples"))
        .extracting(s -> s.get("atMillis").asLong())
        .containsExactly(times.get(5), times.get(6));
    HttpResponse<String> bad = get("/api/history?since=yesterday");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(bad.body()).get("message").asText())
        .isEqualTo("'since' must be epoch milliseconds, got: yesterday");
  }

  @Test
  void growingDeadLettersAreRecordedAsErrors() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHAIN)));
    InstanceClient relay = running("relay", 0);
    report(relay, 10, 0, 2);
    sampler.sample(); // the first look is no news
    sampler.sample();
    assertThat(getJson("/api/errors").get("errors")).isEmpty();
    report(relay, 10, 0, 5);
    sampler.sample();
    JsonNode errors = getJson("/api/errors").get("errors");
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0).get("kind").asText()).isEqualTo("dead_letters");
    assertThat(errors.get(0).get("source").asText()).isEqualTo("relay");
    assertThat(errors.get(0).get("message").asText())
        .isEqualTo("3 more events dead-lettered (5 in all)");
  }

  @Test
  void badPathsAndMethodsAnswerJson() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHAIN)));
    HttpResponse<String> missing = get("/api/nope");
    assertThat(missing.statusCode()).isEqualTo(404);
    JsonNode body = JSON.readTree(missing.body());
    assertThat(body.get("error").asInt()).isEqualTo(404);
    assertThat(body.get("message").asText()).startsWith("no such path: /api/nope;")
        .contains("/api/status", "/api/history", "/metrics");

    HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(base + "/api/status"))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    assertThat(JSON.readTree(post.body()).get("message").asText())
        .isEqualTo("POST is not allowed: the dashboard only answers GET");
  }

  @Test
  void servesThePageItsScriptAndStyle() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHAIN)));
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(page.body()).contains("<svg id=\"graph\"", "id=\"updated\"",
        "<script src=\"dashboard.js\">");
    HttpResponse<String> script = get("/dashboard.js");
    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.body()).contains("/api/status", "data-backpressured");
    assertThat(get("/dashboard.css").body()).contains(".stage.backpressured rect.stage-box");
  }

  @Test
  void metricsCountCheckpointsAndInstancesInPrometheusText() throws Exception {
    serve(new InProcessCoordinator(Specs.parse(CHECKPOINTED), new InMemoryCheckpointStore()));
    RunningPipeline pipeline = RunningPipeline.start(coordinator);
    pipeline.get("in-0").send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(1_000)).build());
    pipeline.get("per-user-0").send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(2_000)).build());
    coordinator.scheduler.advance(Duration.ofSeconds(10));
    pipeline.drain();
    coordinator.scheduler.advance(Duration.ofMillis(120));
    pipeline.ackAll(1, 1);

    HttpResponse<String> metrics = get("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("Content-Type")).hasValueSatisfying(
        t -> assertThat(t).startsWith("text/plain"));
    String text = metrics.body();
    long now = coordinator.ticker.clock().millis();
    assertThat(text).contains(
        "sluice_checkpoints_completed_total{pipeline=\"clicks\",savepoint=\"false\"} 1.0",
        "sluice_checkpoint_duration_milliseconds_count{pipeline=\"clicks\",savepoint=\"false\"} 1",
        "sluice_checkpoint_last_duration_milliseconds{pipeline=\"clicks\"} 120.0",
        "sluice_checkpoint_last_size_bytes{pipeline=\"clicks\"}",
        "sluice_checkpoint_last_alignment_milliseconds{pipeline=\"clicks\"}",
        "sluice_instances{pipeline=\"clicks\",state=\"running\"} 2.0",
        "sluice_global_watermark_milliseconds{pipeline=\"clicks\"} 1000.0");
    String lag = text.lines()
        .filter(l -> l.startsWith("sluice_global_watermark_lag_milliseconds{pipeline=\"clicks\"} "))
        .findFirst().orElseThrow();
    assertThat(Double.parseDouble(lag.substring(lag.lastIndexOf(' ') + 1))).isEqualTo(now - 1000.0);
    assertThat(text).doesNotContain("sluice_checkpoints_aborted_total{");
  }

  @Test
  void theEnvironmentOverridesTheSpecsDashboardPort() {
    var spec = Specs.parse("""
        pipeline: p
        coordinator: {dashboardPort: 7180}
        stages:
          - {name: in, type: ingest}
        """);
    assertThat(DashboardPort.resolve(spec, Map.of())).isEqualTo(7180);
    assertThat(DashboardPort.resolve(spec, Map.of("SLUICE_DASHBOARD_PORT", "0"))).isZero();
    assertThat(DashboardPort.resolve(spec, Map.of("SLUICE_DASHBOARD_PORT", " 8088 ")))
        .isEqualTo(8088);
    assertThatThrownBy(() -> DashboardPort.resolve(spec, Map.of("SLUICE_DASHBOARD_PORT", "80a")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("SLUICE_DASHBOARD_PORT must be a port from 0 to 65535")
        .hasMessageContaining("got: '80a'");
    assertThatThrownBy(() -> DashboardPort.resolve(spec, Map.of("SLUICE_DASHBOARD_PORT", "65536")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
