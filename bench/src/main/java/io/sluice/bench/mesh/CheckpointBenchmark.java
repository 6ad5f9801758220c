package io.sluice.bench.mesh;

import io.sluice.cli.local.LocalLauncher;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.DirectoryCheckpointStore;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The checkpoint benchmarks of issue 4, each stage its own JVM on loopback as {@code sluice up}
 * runs them:
 *
 * <ul>
 *   <li>{@code --state}: a generator with 1,000,000 keys into a 10-minute tumbling count (so every
 *       key's window stays open: 1,000,000 keys of state), checkpointing every 2 s; prints each
 *       completed checkpoint's duration (trigger to completion, from its metadata) and size (the
 *       sum of its state files).
 *   <li>{@code --recovery}: a rate-limited generator into a keyed count window and a sink,
 *       checkpointing every second; kills the window process with SIGKILL, lets the launcher
 *       restart it (as Kubernetes would), and measures the time from the kill until the sink takes
 *       in new events again (records-in, reported every 100 ms).
 * </ul>
 *
 * <p>Usage: {@code CheckpointBenchmark --state [--keys N] [--events N]} or {@code
 * CheckpointBenchmark --recovery [--kills N] [--rate R]}, each with {@code [--jvm "OPTIONS"]}.
 */
public final class CheckpointBenchmark {
  private CheckpointBenchmark() {}

  public static void main(String[] args) throws Exception {
    String mode = null;
    int keys = 1_000_000;
    long events = 20_000_000;
    int kills = 3;
    double rate = 200_000;
    List<String> jvm = LocalLauncher.DEFAULT_JVM_OPTIONS;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--state", "--recovery" -> mode = args[i];
        case "--keys" -> keys = Integer.parseInt(args[++i]);
        case "--events" -> events = Long.parseLong(args[++i]);
        case "--kills" -> kills = Integer.parseInt(args[++i]);
        case "--rate" -> rate = Double.parseDouble(args[++i]);
        case "--jvm" -> jvm = List.of(args[++i].trim().split("\\s+"));
        default -> throw new IllegalArgumentException("unknown option " + args[i]
            + " (use --state [--keys N --events N] or --recovery [--kills N --rate R])");
      }
    }
    if ("--state".equals(mode)) {
      state(keys, events, jvm);
    } else if ("--recovery".equals(mode)) {
      recovery(kills, rate, jvm);
    } else {
      throw new IllegalArgumentException("say --state or --recovery");
    }
  }

  private static Path spec(Path dir, String body) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path spec = dir.resolve("pipeline.yaml");
    Files.writeString(spec, body.replace("{{PORT}}", Integer.toString(port)).replace("{{DIR}}", dir.toString()));
    return spec;
  }

  static void state(int keys, long events, List<String> jvm) throws Exception {
    Path dir = Files.createTempDirectory("sluice-checkpoint-bench");
    Path spec = spec(dir, """
        pipeline: state-bench
        coordinator: {port: {{PORT}}}
        checkpoints: {interval: 2s, dir: {{DIR}}/checkpoints, keep: 20, timeout: 60s}
        stages:
          - name: gen
            type: generator
            count: %d
            keys: %d
            payloadBytes: 100
            format: binary
          - name: window
            type: window
            from: {stage: gen, partition: hash}
            window: {tumbling: 10m}
            aggregate: count
          - name: sink
            type: bench-sink
            from: window
            report: {{DIR}}/report.json
        """.formatted(events, keys));
    try (LocalLauncher mesh = LocalLauncher.builder(spec).jvmOptions(jvm).logDir(dir.resolve("logs")).build()) {
      mesh.start();
      if (!mesh.awaitExit(mesh.processes(), Duration.ofMinutes(15))) {
        throw new IllegalStateException("the pipeline did not finish; logs in " + dir);
      }
    }
    DirectoryCheckpointStore store = new DirectoryCheckpointStore(dir.resolve("checkpoints/state-bench"));
    System.out.printf(Locale.ROOT, "checkpoints of a 10-minute tumbling count over %,d keys (%,d events):%n",
        keys, events);
    for (CheckpointMetadata m : store.completed()) {
      long size = 0;
      for (StageCheckpoint s : m.getStagesList()) {
        for (StateHandle h : s.getStateList()) {
          size += h.getSizeBytes();
        }
      }
      long windowBytes = m.getStagesList().stream().filter(s -> s.getStage().equals("window"))
          .flatMap(s -> s.getStateList().stream()).mapToLong(StateHandle::getSizeBytes).sum();
      System.out.printf(Locale.ROOT, "  checkpoint %3d: %,6d ms, %,12d bytes (window state %,d bytes)%n",
          m.getCheckpointId(), m.getCompletedAtMillis() - m.getTriggeredAtMillis(), size, windowBytes);
    }
    System.out.println("  logs in " + dir.resolve("logs"));
  }

  static void recovery(int kills, double rate, List<String> jvm) throws Exception {
    Path dir = Files.createTempDirectory("sluice-recovery-bench");
    Path spec = spec(dir, """
        pipeline: recovery-bench
        coordinator: {port: {{PORT}}}
        heartbeat: {interval: 100ms, timeout: 2s}
        checkpoints: {interval: 1s, dir: {{DIR}}/checkpoints}
        stages:
          - name: gen
            type: generator
            count: 0
            rate: %s
            keys: 10000
            payloadBytes: 100
            format: binary
          - name: window
            type: window
            from: {stage: gen, partition: hash}
            window: {tumbling: 1s}
            aggregate: count
          - name: sink
            type: bench-sink
            from: window
            report: {{DIR}}/report.json
        """.formatted(Double.toString(rate)));
    List<Double> seconds = new ArrayList<>();
    try (LocalLauncher mesh = LocalLauncher.builder(spec).jvmOptions(jvm).logDir(dir.resolve("logs")).build()) {
      mesh.start();
      mesh.awaitState("running", Duration.ofMinutes(1));
      for (int k = 0; k < kills; k++) {
        // A pipeline in its stride: running (restored, after a kill) and 8 more checkpoints done.
        long before = mesh.status().getLastCheckpoint().getCheckpointId();
        mesh.awaitStatus(s -> s.getState().equals("running") && s.getLastCheckpoint().getCheckpointId() >= before + 8,
            Duration.ofMinutes(2));
        long killedAt = System.nanoTime();
        mesh.kill("window-0");
        // Nothing reaches the sink while the window is gone; wait until what was in flight is in.
        long settled = System.nanoTime() + 300_000_000L;
        long level = 0;
        while (System.nanoTime() < settled) {
          level = WindowBenchmark.recordsIn(mesh.status(), "sink");
          Thread.sleep(20); // monitor cadence
        }
        long deadline = killedAt + Duration.ofMinutes(1).toNanos();
        while (WindowBenchmark.recordsIn(mesh.status(), "sink") <= level) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("no new output a minute after the kill; logs in " + dir);
          }
          Thread.sleep(20); // monitor cadence
        }
        double s = (System.nanoTime() - killedAt) / 1e9;
        seconds.add(s);
        System.out.printf(Locale.ROOT, "kill %d: first new output at the sink %.2f s after kill -9 of the window%n",
            k + 1, s);
      }
      PipelineStatus status = mesh.status();
      System.out.println("  last checkpoint " + status.getLastCheckpoint().getCheckpointId()
          + "; restarts " + mesh.restarts().size() + "; logs in " + dir.resolve("logs"));
      mesh.drainAndWait(Duration.ofMinutes(1));
    }
    System.out.printf(Locale.ROOT, "recovery: mean %.2f s, max %.2f s over %d kills%n",
        seconds.stream().mapToDouble(Double::doubleValue).average().orElse(0),
        seconds.stream().mapToDouble(Double::doubleValue).max().orElse(0), seconds.size());
  }
}
