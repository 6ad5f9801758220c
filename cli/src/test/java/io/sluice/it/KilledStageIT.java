package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true 6: a stage process killed with SIGKILL is reported dead by {@code sluice status}
 * (the real command, in its own JVM) within the heartbeat timeout.
 */
@Tag("integration")
class KilledStageIT {
  @Test
  void killedStageIsReportedDeadWithinTheHeartbeatTimeout(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: killed
        coordinator: {port: {{COORDINATOR_PORT}}}
        heartbeat: {interval: 500ms, timeout: 3s}
        stages:
          - name: in
            type: ingest
          - name: relay
            type: passthrough
            from: in
          - name: out
            type: stdout-sink
            from: relay
        """;
    // Restarts off: this test watches the killed instance stay DEAD (with its old pid) in
    // `sluice status`; with restarts on, the launcher would start relay-0 again within 200 ms and
    // it would register as RUNNING before the assertions below. StageRestartIT covers restarts.
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm(), b -> b.restartStages(false))) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      long pid = mesh.instance("relay", 0).getPid();
      assertThat(pid).isPositive();

      long killedAt = System.nanoTime();
      assertThat(mesh.launcher.kill("relay-0")).isTrue();
      mesh.launcher.awaitStatus(s -> mesh.instance("relay", 0).getState() == InstanceState.INSTANCE_STATE_DEAD,
          Duration.ofSeconds(3));
      double seconds = (System.nanoTime() - killedAt) / 1e9;
      assertThat(seconds).as("reported dead within the 3 s heartbeat timeout").isLessThanOrEqualTo(3.0);
      InstanceStatus dead = mesh.instance("relay", 0);
      assertThat(dead.getStateReason()).isNotBlank();

      String json = run(List.of("status", "--json", "--coordinator", "127.0.0.1:" + mesh.coordinatorPort));
      assertThat(json).contains("relay-0").contains("DEAD").contains(Long.toString(pid));
      String table = run(List.of("status", "--coordinator", "127.0.0.1:" + mesh.coordinatorPort));
      assertThat(table).contains("relay-0").contains("DEAD");
    }
  }

  /** Runs {@code sluice ARGS} as its own process and returns what it printed. */
  static String run(List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "io.sluice.cli.Main"));
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    p.getInputStream().transferTo(out);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return out.toString(StandardCharsets.UTF_8);
  }
}
