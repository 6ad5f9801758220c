package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.sluice.cli.send.EventGenerator;
import io.sluice.cli.send.Publisher;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.SetMaxRateRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true for the dashboard: a real three-process pipeline whose sink is throttled while a
 * producer offers as fast as it can, so the stage before the sink is backpressured; headless
 * Chromium (Debian's, driven by playwright-core from {@code src/test/js/dashboard.mjs}) opens the
 * coordinator's dashboard and checks that it draws the graph, shows the backpressured stage in
 * the warning colour and updates, and saves a screenshot to {@code target/dashboard.png}.
 *
 * <p>Needs {@code node}, {@code /usr/bin/chromium} and {@code npm ci --prefix cli/src/test/js}
 * ({@code .ci/run} does both); fails, rather than skips, when one is missing.
 */
@Tag("integration")
class DashboardIT {
  static final Path JS = Path.of("src/test/js");
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path SCREENSHOT = Path.of("target/dashboard.png").toAbsolutePath();

  @Test
  void dashboardDrawsTheGraphShowsBackpressureAndUpdates(@TempDir Path dir) throws Exception {
    assertThat(Files.isExecutable(CHROMIUM))
        .as("%s is missing: install Debian's chromium (apt-get install chromium; .ci/run does)",
            CHROMIUM)
        .isTrue();
    assertThat(Files.isDirectory(JS.resolve("node_modules/playwright-core")))
        .as("%s has no node_modules/playwright-core: run npm ci --prefix cli/src/test/js"
            + " (.ci/run does)", JS.toAbsolutePath())
        .isTrue();
    Files.deleteIfExists(SCREENSHOT);

    String yaml = """
        pipeline: dashboard
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
          - name: relay
            type: passthrough
            from: in
          - name: out
            type: file-sink
            from: relay
            path: out/all.jsonl
            maxRate: 300
        """;
    EventGenerator gen = new EventGenerator("dashboard", 5, 1000, 100);
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      PipelineStatus running = mesh.awaitRunning(Duration.ofSeconds(60));
      String url = running.getDashboardUrl();
      assertThat(url).as("PipelineStatus.dashboard_url").startsWith("http://");

      AtomicBoolean stop = new AtomicBoolean();
      ManagedChannel ch = mesh.channelTo("in", 0);
      Publisher publisher = new Publisher(ch, Publisher.Options.defaults("dashboard"));
      CompletableFuture<?> sending = CompletableFuture.runAsync(() -> {
        try {
          publisher.publish(BackpressureIT.unbounded(gen, stop));
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      try {
        Process browser = new ProcessBuilder(List.of(
            "node", "dashboard.mjs", url, SCREENSHOT.toString(), "in,relay,out",
            "in>relay,relay>out", "relay", "out"))
            .directory(JS.toFile())
            .redirectErrorStream(true)
            .start();
        byte[] output;
        try (var in = browser.getInputStream()) {
          output = in.readAllBytes(); // ends when the script exits
        }
        assertThat(browser.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String text = new String(output, StandardCharsets.UTF_8);
        System.out.println(text);
        assertThat(browser.exitValue())
            .as("dashboard.mjs failed; its output:%n%s%nlogs in %s", text, dir.resolve("logs"))
            .isZero();
        assertThat(text).contains(
            "ok: the graph has a node per stage",
            "ok: the graph has the edge relay -> out",
            "ok: relay is drawn in the warning colour",
            "ok: the page updated",
            "screenshot: " + SCREENSHOT);
      } finally {
        // Lift the throttle so what is in flight drains and the publisher gets its last acks.
        stop.set(true);
        AdminServiceGrpc.newBlockingStub(mesh.launcher.coordinatorChannel())
            .setMaxRate(SetMaxRateRequest.newBuilder().setStage("out").setEventsPerSecond(0).build());
        sending.get(2, TimeUnit.MINUTES);
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    assertPng(SCREENSHOT);
    System.out.println("dashboard screenshot: " + SCREENSHOT);
  }

  private static void assertPng(Path png) throws IOException {
    assertThat(png).exists();
    byte[] bytes = Files.readAllBytes(png);
    assertThat(bytes.length).as("screenshot size").isGreaterThan(20_000);
    assertThat(new String(bytes, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }
}
