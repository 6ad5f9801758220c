package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.client.SluiceProducer;
import io.sluice.proto.v1.PipelineStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 4, must-be-true 1: 2,000,000 events flow through an ingest, a keyed window (two replicas)
 * and a file sink, each its own JVM, checkpointing every second; each stage process in turn
 * (ingest, a window replica, the sink) is killed with SIGKILL at a random moment and restarted by
 * the launcher, as Kubernetes restarts a pod. The committed output equals the reference exactly.
 */
@Tag("integration")
class ExactlyOnceChaosIT {
  static final int EVENTS = 2_000_000;
  static final int KEYS = 100;
  static final long WINDOW = 10_000;

  static final String SPEC = ExactlyOnce.windowPipeline("chaos", "1s");

  @Test
  void killingEachStageInTurnLosesNothingAndRepeatsNothing(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    try (Mesh mesh = Mesh.start(dir, SPEC, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      int ingestPort = mesh.instance("in", 0).getEndpoint().getPort();
      AtomicReference<Throwable> sendFailure = new AtomicReference<>();
      try (SluiceProducer producer = SluiceProducer.builder("127.0.0.1:" + ingestPort, "chaos")
          .maxUnacked(400_000)
          .ackTimeout(Duration.ofMinutes(3))
          .build()) {
        Thread sender = ExactlyOnce.sendInBackground(producer, 0, EVENTS, KEYS, 80_000, sendFailure);

        List<String> killed = new ArrayList<>();
        for (String victim : List.of("in-0", "win-" + random.nextInt(2), "out-0")) {
          Thread.sleep(1_500 + random.nextInt(3_000)); // a random moment of the run
          long before = lastCheckpoint(mesh.launcher.status());
          assertThat(mesh.launcher.kill(victim)).as("killed " + victim).isTrue();
          killed.add(victim);
          // Recovered: every instance back and a checkpoint completed after the restore.
          mesh.await(Duration.ofSeconds(60), () -> "no checkpoint after killing " + victim + " (seed " + seed + ")",
              () -> {
                PipelineStatus s = mesh.launcher.status();
                return s.getState().equalsIgnoreCase("running") && lastCheckpoint(s) > before + 1;
              });
        }
        sender.join(Duration.ofMinutes(5).toMillis());
        assertThat(sendFailure.get()).as("sending failed (seed " + seed + ")").isNull();
        assertThat(producer.awaitAcked(Duration.ofMinutes(2))).as("every event acked").isTrue();
        assertThat(killed).hasSize(3);
      }
      mesh.drain(Duration.ofMinutes(2));
      ExactlyOnce.assertExact(mesh.readSink("out/counts.jsonl"),
          ExactlyOnce.reference(EVENTS, KEYS, WINDOW));
    }
  }

  static long lastCheckpoint(PipelineStatus s) {
    return s.hasLastCheckpoint() ? s.getLastCheckpoint().getCheckpointId() : 0;
  }
}
