package io.sluice.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice up} as a user runs it: its own JVM, stopped with SIGINT as Ctrl-C would. */
@Tag("integration")
class UpCommandIT {
  @TempDir Path dir;

  @Test
  void sigintDrainsThePipelineStopsEveryProcessAndExitsZero() throws Exception {
    Path spec = dir.resolve("p.yaml");
    Files.writeString(
        spec,
        """
        pipeline: up-test
        stages:
          - name: in
            type: ingest
          - name: out
            type: stdout-sink
            from: in
        """);
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "io.sluice.cli.Main",
                "up",
                spec.toString(),
                "--coordinator-port",
                "0"));
    Process up = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> output = new ArrayList<>();
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      // Until the pipeline is up and `up` has said where the ingest is.
      while ((line = reader.readLine()) != null) {
        output.add(line);
        if (line.startsWith("ingest 'in' at ")) {
          break;
        }
      }
      assertThat(output).as("output of sluice up").anyMatch(l -> l.startsWith("ingest 'in' at "));
      List<ProcessHandle> children = up.toHandle().descendants().toList();
      assertThat(children).hasSizeGreaterThanOrEqualTo(3); // coordinator, in-0, out-0

      Process kill = new ProcessBuilder("kill", "-INT", Long.toString(up.pid())).start();
      assertThat(kill.waitFor()).isZero();
      while ((line = reader.readLine()) != null) {
        output.add(line);
      }
      assertThat(up.waitFor(90, TimeUnit.SECONDS)).isTrue();
      assertThat(up.exitValue()).as(String.join("\n", output)).isZero();
      assertThat(output).anyMatch(l -> l.contains("drained; every process exited"));
      assertThat(children).noneMatch(ProcessHandle::isAlive);
    } finally {
      up.destroyForcibly();
    }
    assertThat(dir.resolve(".sluice/logs/coordinator.log")).exists();
  }
}
