package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.client.SluiceProducer;
import io.sluice.proto.v1.PipelineStatus;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, must-be-true 2 and 4. The coordinator is killed with SIGKILL mid-run and started again:
 * the stage processes keep running and reconnect, the new coordinator restores the pipeline from
 * the newest checkpoint and checkpoints resume; the output is exact. And a truncated newest
 * checkpoint is detected on a recovery, the previous one is used, and the coordinator's log says
 * which and why; the output is still exact.
 */
@Tag("integration")
class CoordinatorRestartIT {
  static final int EVENTS = 600_000;
  static final int KEYS = 50;
  static final long WINDOW = 10_000;

  static String spec(String interval) {
    return ExactlyOnce.windowPipeline("restart", interval);
  }

  interface Disruption {
    void apply(Mesh mesh) throws Exception;
  }

  @Test
  void aRestartedCoordinatorResumesCheckpointsAndTheOutputIsExact(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    runWith(dir, spec("1s"), mesh -> {
      long before = ExactlyOnceChaosIT.lastCheckpoint(mesh.launcher.status());
      assertThat(mesh.launcher.kill("coordinator")).isTrue();
      Thread.sleep(1_000); // the stages notice and keep reconnecting meanwhile
      mesh.launcher.restartCoordinator();
      mesh.await(Duration.ofSeconds(60), () -> "checkpoints did not resume after the coordinator restarted",
          () -> {
            PipelineStatus s = mesh.launcher.status();
            return s.getState().equalsIgnoreCase("running") && ExactlyOnceChaosIT.lastCheckpoint(s) > before + 1;
          });
    });
  }

  @Test
  void aTruncatedCheckpointIsSkippedForThePreviousOne(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    runWith(dir, spec("3s"), mesh -> {
      // Right after checkpoint n completes, cut one of its state files short and kill a stage:
      // the restore must notice, say so, and use n - 1.
      long n = ExactlyOnceChaosIT.lastCheckpoint(mesh.launcher.status());
      mesh.await(Duration.ofSeconds(30), () -> "no new checkpoint",
          () -> ExactlyOnceChaosIT.lastCheckpoint(mesh.launcher.status()) > Math.max(n, 1));
      long newest = ExactlyOnceChaosIT.lastCheckpoint(mesh.launcher.status());
      Path folder = dir.resolve("checkpoints/restart/chk-" + newest);
      Path victim;
      try (Stream<Path> files = Files.list(folder)) {
        victim = files.filter(p -> p.getFileName().toString().startsWith("win-")).findFirst().orElseThrow();
      }
      try (RandomAccessFile f = new RandomAccessFile(victim.toFile(), "rw")) {
        f.setLength(f.length() / 2);
      }
      assertThat(mesh.launcher.kill("win-1")).isTrue();
      Path log = dir.resolve("logs/coordinator.log");
      mesh.await(Duration.ofSeconds(30), () -> "no log line about the truncated checkpoint " + newest, () -> {
        String text = Files.readString(log);
        return text.contains("checkpoint " + newest) && text.contains(victim.getFileName().toString())
            && text.contains("truncated");
      });
      mesh.await(Duration.ofSeconds(60), () -> "no checkpoint after the restore",
          () -> ExactlyOnceChaosIT.lastCheckpoint(mesh.launcher.status()) > newest + 1);
    });
  }

  private static void runWith(Path dir, String spec, Disruption disruption) throws Exception {
    try (Mesh mesh = Mesh.start(dir, spec, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      int ingestPort = mesh.instance("in", 0).getEndpoint().getPort();
      AtomicReference<Throwable> sendFailure = new AtomicReference<>();
      try (SluiceProducer producer = SluiceProducer.builder("127.0.0.1:" + ingestPort, "restart")
          .maxUnacked(400_000)
          .ackTimeout(Duration.ofMinutes(3))
          .build()) {
        Thread sender = ExactlyOnce.sendInBackground(producer, 0, EVENTS, KEYS, 60_000, sendFailure);
        Thread.sleep(3_000); // mid-run
        disruption.apply(mesh);
        sender.join(Duration.ofMinutes(3).toMillis());
        assertThat(sendFailure.get()).isNull();
        assertThat(producer.awaitAcked(Duration.ofMinutes(2))).as("every event acked").isTrue();
      }
      mesh.drain(Duration.ofMinutes(2));
      ExactlyOnce.assertExact(mesh.readSink("out/counts.jsonl"), ExactlyOnce.reference(EVENTS, KEYS, WINDOW));
      assertThat(List.of(dir.resolve("checkpoints/restart").toFile().list())).anyMatch(n -> n.startsWith("chk-"));
    }
  }
}
