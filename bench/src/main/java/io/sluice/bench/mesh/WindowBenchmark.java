package io.sluice.bench.mesh;

import io.sluice.cli.local.LocalLauncher;
import io.sluice.cli.local.LocalProcess;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tumbling-window benchmark of issue 3: a generator (10,000 keys, event time = wall clock), a
 * keyed shuffle into a 10 s tumbling count, and a sink, each its own JVM on loopback, as {@code
 * sluice up} runs them. The same job as Flink's generator → keyBy → tumbling count → sink.
 *
 * <p>Throughput is what the window stage takes in, from the records_in counter it reports to the
 * coordinator (sampled every 250 ms): overall from its first to its last event, and steady over
 * the middle half of the events. RSS is sampled per process from /proc.
 *
 * <p>Usage: {@code WindowBenchmark [--events N] [--keys K] [--window 10s] [--replicas R] [--runs R]
 * [--jvm "OPTIONS"] [--checkpoints INTERVAL] [--trace-ratio R]}; with {@code --checkpoints 1s} the
 * pipeline takes an exactly-once checkpoint of the window state every second. With {@code
 * --trace-ratio R} the generator samples R of its events and the stages export their spans over
 * OTLP/gRPC to a receiver in this JVM (see {@link MeshBenchmark}); the generator and the window
 * stage record a span per sampled event (the window's results, fired by watermarks, are not one
 * event's).
 */
public final class WindowBenchmark {
  private WindowBenchmark() {}

  public static void main(String[] args) throws Exception {
    long events = 30_000_000;
    int keys = 10_000;
    String window = "10s";
    int replicas = 1;
    int runs = 1;
    List<String> jvm = LocalLauncher.DEFAULT_JVM_OPTIONS;
    String checkpoints = null;
    Double traceRatio = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--events" -> events = Long.parseLong(args[++i]);
        case "--keys" -> keys = Integer.parseInt(args[++i]);
        case "--window" -> window = args[++i];
        case "--replicas" -> replicas = Integer.parseInt(args[++i]);
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--jvm" -> jvm = List.of(args[++i].trim().split("\\s+"));
        case "--checkpoints" -> checkpoints = args[++i];
        case "--trace-ratio" -> traceRatio = Double.parseDouble(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]
            + " (use --events, --keys, --window, --replicas, --runs, --jvm, --checkpoints, --trace-ratio)");
      }
    }
    for (int r = 1; r <= runs; r++) {
      if (traceRatio == null) {
        run(r, events, keys, window, replicas, jvm, checkpoints, null, null);
        continue;
      }
      try (SpanCounter spans = SpanCounter.start()) {
        double cpuBefore = MeshBenchmark.ownCpuSeconds();
        run(r, events, keys, window, replicas, jvm, checkpoints, traceRatio, spans.endpoint("grpc"));
        spans.print(traceRatio, events, 2, "sluice-gen", MeshBenchmark.ownCpuSeconds() - cpuBefore);
      }
    }
  }

  static void run(int runNumber, long events, int keys, String window, int replicas, List<String> jvm,
      String checkpoints, Double traceRatio, String otlpEndpoint) throws Exception {
    Path dir = Files.createTempDirectory("sluice-window-bench");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String yaml = """
        pipeline: window-bench
        coordinator: {port: %d}
        %s
        stages:
          - name: gen
            type: generator
            count: %d
            keys: %d
            payloadBytes: 100
            format: binary
        %s
          - name: window
            type: window
            from: {stage: gen, partition: hash}
            replicas: %d
            window: {tumbling: %s}
            aggregate: count
          - name: sink
            type: bench-sink
            from: window
            report: %s
        """.formatted(port, checkpoints == null ? "" : "checkpoints: {interval: " + checkpoints + ", dir: "
            + dir.resolve("checkpoints") + "}", events, keys,
            traceRatio == null ? "" : "    tracing: {sampleRatio: " + traceRatio + "}",
            replicas, window, dir.resolve("report.json"));
    Path spec = dir.resolve("window.yaml");
    Files.writeString(spec, yaml);

    Map<String, Long> peakRss = new ConcurrentHashMap<>();
    List<long[]> samples = new ArrayList<>(); // {nanos, records into the window stage}
    LocalLauncher.Builder builder = LocalLauncher.builder(spec).jvmOptions(jvm).logDir(dir.resolve("logs"));
    if (otlpEndpoint != null) {
      builder.environment("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint);
    }
    try (LocalLauncher mesh = builder.build()) {
      mesh.start();
      long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
      long in = 0;
      while (in < events) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the window stage took in only " + in + " of " + events
              + " events in 15 minutes; logs in " + dir);
        }
        for (LocalProcess p : mesh.processes()) {
          peakRss.merge(p.instance(), MeshBenchmark.rssOf(p.pid()), Math::max);
        }
        PipelineStatus status;
        try {
          status = mesh.status();
        } catch (RuntimeException e) {
          break; // the coordinator exits once the pipeline finished
        }
        in = recordsIn(status, "window");
        samples.add(new long[] {System.nanoTime(), in});
        Thread.sleep(250); // the sampling cadence of a monitor, not a delay to wait for something
      }
      if (!mesh.awaitExit(mesh.processes(), Duration.ofMinutes(2))) {
        throw new IllegalStateException("the pipeline did not finish; logs in " + dir);
      }
    }
    long[] first = null;
    long[] q1 = null;
    long[] q3 = null;
    long[] last = samples.get(samples.size() - 1);
    for (long[] s : samples) {
      if (first == null && s[1] > 0) {
        first = s;
      }
      if (q1 == null && s[1] >= events / 4) {
        q1 = s;
      }
      if (q3 == null && s[1] >= events * 3 / 4) {
        q3 = s;
      }
    }
    if (first == null || q1 == null || q3 == null || first == last) {
      throw new IllegalStateException("too few samples of the window stage's input to measure: "
          + samples.size() + "; use more --events");
    }
    double overall = (last[1] - first[1]) / ((last[0] - first[0]) / 1e9);
    double steady = (q3[1] - q1[1]) / ((q3[0] - q1[0]) / 1e9);
    Map<String, Long> rss = new TreeMap<>(peakRss);
    rss.remove(LocalProcess.COORDINATOR);
    long total = rss.values().stream().mapToLong(Long::longValue).sum();
    System.out.printf(Locale.ROOT,
        "run %d: tumbling %s count, %,d keys, %,d events, checkpoints %s: %,.0f events/s steady (middle half),"
            + " %,.0f overall%n",
        runNumber, window, keys, events, checkpoints == null ? "off" : "every " + checkpoints, steady, overall);
    StringBuilder sb = new StringBuilder("  peak RSS:");
    rss.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %,d MB;", k, v >> 20)));
    sb.append(String.format(Locale.ROOT, " stages together %,d MB", total >> 20));
    System.out.println(sb);
  }

  static long recordsIn(PipelineStatus status, String stage) {
    long n = 0;
    for (StageStatus s : status.getStagesList()) {
      if (s.getName().equals(stage)) {
        for (InstanceStatus i : s.getInstancesList()) {
          n += i.getRecordsIn();
        }
      }
    }
    return n;
  }
}
