package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.cli.local.LocalProcess;
import io.sluice.client.SluiceProducer;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.TriggerSavepointRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, must-be-true 3: a keyed window runs at parallelism 2 and takes a savepoint; the
 * pipeline is stopped hard and started again from the savepoint at parallelism 3, takes another
 * savepoint, and is started once more at parallelism 1. The producer goes on where it was acked.
 * Every (key, window) result over the three runs equals the reference: key-group ranges moved to
 * their new owners with their state.
 */
@Tag("integration")
class SavepointRescaleIT {
  static final int KEYS = 60;
  static final long WINDOW = 10_000;
  static final long[] CUTS = {0, 150_000, 300_000, 450_000};

  static String spec(int replicas) {
    return """
        pipeline: rescale
        coordinator: {port: {{COORDINATOR_PORT}}}
        checkpoints: {interval: 1s, dir: checkpoints, timeout: 30s}
        stages:
          - name: in
            type: ingest
            watermark: {maxOutOfOrder: 0s}
          - name: win
            type: window
            from: {stage: in, partition: hash}
            replicas: %d
            window: {tumbling: 10s}
            aggregate: count
          - name: out
            type: file-sink
            from: win
            path: out/counts.jsonl
        """.formatted(replicas);
  }

  @Test
  void perKeyResultsContinueExactlyAcrossRescales(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    int[] parallelism = {2, 3, 1};
    Path savepoint = null;
    for (int run = 0; run < 3; run++) {
      Path from = savepoint;
      Mesh mesh = Mesh.start(dir, spec(parallelism[run]), Mesh.defaultJvm(), b -> {
        if (from != null) {
          b.fromSavepoint(from);
        }
      });
      try {
        mesh.awaitRunning(Duration.ofSeconds(60));
        assertThat(mesh.launcher.status().getStagesList().stream()
            .filter(s -> s.getName().equals("win")).findFirst().orElseThrow().getInstancesCount())
            .isEqualTo(parallelism[run]);
        int port = mesh.instance("in", 0).getEndpoint().getPort();
        try (SluiceProducer producer = SluiceProducer.builder("127.0.0.1:" + port, "rescale")
            .firstSequence(CUTS[run] + 1)
            .maxUnacked(400_000)
            .build()) {
          ExactlyOnce.send(producer, CUTS[run], CUTS[run + 1], KEYS, 100_000);
          assertThat(producer.awaitAcked(Duration.ofMinutes(2))).isTrue();
        }
        if (run < 2) {
          CheckpointInfo info = AdminServiceGrpc.newBlockingStub(mesh.launcher.coordinatorChannel())
              .withDeadlineAfter(60, java.util.concurrent.TimeUnit.SECONDS)
              .triggerSavepoint(TriggerSavepointRequest.getDefaultInstance());
          assertThat(info.getSavepoint()).isTrue();
          savepoint = Path.of(info.getLocation());
          assertThat(Files.isDirectory(savepoint)).as("savepoint at " + savepoint).isTrue();
          killAll(mesh); // a hard stop: nothing drains, windows still open stay in the savepoint
        } else {
          mesh.drain(Duration.ofMinutes(2));
        }
      } finally {
        mesh.close();
      }
    }
    ExactlyOnce.assertExact(readAll(dir), ExactlyOnce.reference(CUTS[3], KEYS, WINDOW));
  }

  private static void killAll(Mesh mesh) throws InterruptedException {
    mesh.launcher.kill(LocalProcess.COORDINATOR); // first, so that nothing is restarted
    List<String> names = new ArrayList<>();
    for (LocalProcess p : mesh.launcher.processes()) {
      names.add(p.instance());
    }
    for (String n : names) {
      if (mesh.launcher.process(n).map(LocalProcess::isAlive).orElse(false)) {
        mesh.launcher.kill(n);
      }
    }
  }

  private static List<com.fasterxml.jackson.databind.JsonNode> readAll(Path dir) throws Exception {
    // The sink has one replica in every run; its file holds what every run committed.
    List<com.fasterxml.jackson.databind.JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("out/counts.jsonl"))) {
      if (!line.isBlank()) {
        out.add(Mesh.JSON.readTree(line));
      }
    }
    return out;
  }
}
