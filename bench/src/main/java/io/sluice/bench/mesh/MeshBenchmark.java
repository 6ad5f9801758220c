package io.sluice.bench.mesh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.cli.local.LocalLauncher;
import io.sluice.cli.local.LocalProcess;
import java.io.IOException;
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
import java.util.stream.Collectors;

/**
 * The end-to-end mesh benchmark: a generator stage, {@code hops - 1} pass-through stages and a
 * bench-sink, each in its own JVM on loopback (plus the coordinator), as {@code sluice up} runs
 * them. Prints events/s measured at the sink, end-to-end latency percentiles, and the peak RSS of
 * every process, sampled from /proc while the run lasts.
 *
 * <p>Usage: {@code MeshBenchmark [--hops 1|2] [--events N] [--payload BYTES] [--batch EVENTS] [--runs R] [--jvm
 * "OPTS"] [--checkpoints INTERVAL] [--trace-ratio R] [--otlp-protocol grpc|http/protobuf] [--cpu-load SHARE]};
 * with {@code --checkpoints 1s} the pipeline takes an
 * exactly-once checkpoint every second into a temporary folder. With {@code --trace-ratio R} every stage
 * exports traces over OTLP/gRPC to a receiver in this process (which counts spans and discards them), and
 * the generator samples a ratio R of its events (0 measures the cost of tracing being on at all). With
 * {@code --cpu-load 0.05} a thread of this process takes 5% of the machine's CPU while the run goes
 * on (see {@link CpuLoad}): what any other load of that size costs the pipeline.
 */
public final class MeshBenchmark {
  /** Small, fixed footprints: the budget is 512 MB RSS for three stage processes together. */
  static final List<String> BENCH_JVM =
      List.of(System.getProperty("bench.jfr", "-Dno.jfr=1"), "-Xms64m", "-Xmx96m", "-XX:MaxDirectMemorySize=64m", "-XX:+UseSerialGC",
          "-XX:ReservedCodeCacheSize=32m", "-XX:MaxMetaspaceSize=64m", "-Xss512k",
          "-XX:+ExitOnOutOfMemoryError");

  private MeshBenchmark() {}

  /** One run's figures. */
  public record Result(
      int hops, long events, double eventsPerSecond, long p50Micros, long p99Micros,
      Map<String, Long> peakRss, long stagesRssTotal, double wallSeconds,
      Map<String, Double> cpuSeconds, double flowSeconds, double steadyEventsPerSecond,
      List<Double> quarterEventsPerSecond) {}

  public static void main(String[] args) throws Exception {
    int hops = 2;
    long events = 20_000_000;
    int payload = 100;
    int runs = 1;
    int batch = 256;
    List<String> jvm = BENCH_JVM;
    String checkpoints = null;
    Double traceRatio = null;
    String otlpProtocol = "grpc";
    Double cpuLoad = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--hops" -> hops = Integer.parseInt(args[++i]);
        case "--events" -> events = Long.parseLong(args[++i].replace("_", ""));
        case "--payload" -> payload = Integer.parseInt(args[++i]);
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--jvm" -> jvm = List.of(args[++i].trim().split("\\s+"));
        case "--checkpoints" -> checkpoints = args[++i];
        case "--trace-ratio" -> traceRatio = Double.parseDouble(args[++i]);
        case "--otlp-protocol" -> otlpProtocol = args[++i];
        case "--cpu-load" -> cpuLoad = Double.parseDouble(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]
            + " (use --hops, --events, --payload, --batch, --runs, --jvm, --checkpoints, --trace-ratio,"
            + " --otlp-protocol, --cpu-load)");
      }
    }
    for (int r = 1; r <= runs; r++) {
      if (traceRatio == null) {
        double cpuBefore = ownCpuSeconds();
        CpuLoad load = CpuLoad.start(cpuLoad);
        Result res;
        try {
          res = run(hops, events, payload, batch, jvm, checkpoints);
        } finally {
          CpuLoad.stop(load);
        }
        print(r, res);
        System.out.printf(Locale.ROOT, "  benchmark (this JVM) CPU %5.1f s%n", ownCpuSeconds() - cpuBefore);
        continue;
      }
      try (SpanCounter spans = SpanCounter.start()) {
        // The receiver runs in this JVM on the same cores as the stages: show what it took.
        double cpuBefore = ownCpuSeconds();
        CpuLoad load = CpuLoad.start(cpuLoad);
        Result res;
        try {
          res = run(hops, events, payload, batch, jvm, checkpoints, traceRatio, otlpProtocol,
              spans.endpoint(otlpProtocol));
        } finally {
          CpuLoad.stop(load);
        }
        print(r, res);
        // One span per sampled event at each of the hops + 1 stages.
        spans.print(traceRatio, res.events(), hops + 1, "sluice-gen", ownCpuSeconds() - cpuBefore);
      }
    }
  }

  /** CPU time this JVM has used (user + system), in seconds. */
  static double ownCpuSeconds() {
    return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(0.0);
  }

  static void print(int run, Result r) {
    System.out.printf(Locale.ROOT,
        "run %d: hops=%d events=%,d  %,.0f events/s overall, %,.0f events/s steady (second half)"
            + "  latency p50=%.1f ms p99=%.1f ms  wall %.1f s%n",
        run, r.hops(), r.events(), r.eventsPerSecond(), r.steadyEventsPerSecond(),
        r.p50Micros() / 1000.0, r.p99Micros() / 1000.0, r.wallSeconds());
    r.peakRss().forEach((k, v) -> System.out.printf(Locale.ROOT, "  %-14s peak RSS %6.1f MB, CPU %5.1f s%n",
        k, v / 1e6, r.cpuSeconds().getOrDefault(k, 0.0)));
    System.out.printf(Locale.ROOT, "  events flowed for %.1f s (first to last event at the sink)%n", r.flowSeconds());
    if (!r.quarterEventsPerSecond().isEmpty()) {
      System.out.printf(Locale.ROOT, "  events/s by quarter of the run: %s%n", r.quarterEventsPerSecond().stream()
          .map(v -> String.format(Locale.ROOT, "%,.0f", v)).collect(Collectors.joining(" / ")));
    }
    System.out.printf(Locale.ROOT, "  peak RSS stages total %6.1f MB%n", r.stagesRssTotal() / 1e6);
  }

  /** Runs the pipeline once and returns its figures. */
  public static Result run(int hops, long events, int payload, int batch, List<String> jvm)
      throws Exception {
    return run(hops, events, payload, batch, jvm, null);
  }

  /** Runs the pipeline once, checkpointing every {@code checkpoints} (null: no checkpoints). */
  public static Result run(int hops, long events, int payload, int batch, List<String> jvm, String checkpoints)
      throws Exception {
    return run(hops, events, payload, batch, jvm, checkpoints, null, null, null);
  }

  /**
   * As {@link #run(int, long, int, int, List, String)}, with tracing: the generator samples {@code
   * traceRatio} of its events and every process exports OTLP over {@code otlpProtocol} ({@code grpc}
   * or {@code http/protobuf}) to {@code otlpEndpoint} (all null: no tracing).
   */
  public static Result run(int hops, long events, int payload, int batch, List<String> jvm, String checkpoints,
      Double traceRatio, String otlpProtocol, String otlpEndpoint) throws Exception {
    // Every stage batches the same way; bytes scale with the count (about 150 bytes an event).
    String batching = "    batch: {maxEvents: " + batch + ", maxBytes: " + (batch * 256) + "}\n";
    Path dir = Files.createTempDirectory("sluice-bench");
    Path report = dir.resolve("report.json");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    StringBuilder yaml = new StringBuilder();
    yaml.append("pipeline: bench\n")
        .append("coordinator: {port: ").append(port).append("}\n")
        .append(checkpoints == null ? "" : "checkpoints: {interval: " + checkpoints + ", dir: "
            + dir.resolve("checkpoints") + "}\n")
        .append("stages:\n")
        .append("  - name: gen\n    type: generator\n    count: ").append(events)
        .append("\n    payloadBytes: ").append(payload).append("\n    format: binary\n").append(batching)
        .append(traceRatio == null ? "" : "    tracing: {sampleRatio: " + traceRatio + "}\n");
    String prev = "gen";
    for (int h = 1; h < hops; h++) {
      yaml.append("  - name: relay").append(h).append("\n    type: passthrough\n    from: ").append(prev).append('\n')
          .append(batching);
      prev = "relay" + h;
    }
    yaml.append("  - name: sink\n    type: bench-sink\n    from: ").append(prev)
        .append("\n    report: ").append(report).append('\n').append(batching);
    Path spec = dir.resolve("bench.yaml");
    Files.writeString(spec, yaml);

    Map<String, Long> peak = new ConcurrentHashMap<>();
    Map<String, Long> cpu = new ConcurrentHashMap<>();
    long t0 = System.nanoTime();
    LocalLauncher.Builder builder = LocalLauncher.builder(spec).jvmOptions(jvm).logDir(dir.resolve("logs"));
    if (otlpEndpoint != null) {
      builder.environment("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint);
      builder.environment("OTEL_EXPORTER_OTLP_PROTOCOL", otlpProtocol);
    }
    try (LocalLauncher mesh = builder.build()) {
      mesh.start();
      Thread sampler = new Thread(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          for (LocalProcess p : mesh.processes()) {
            long rss = rssOf(p.pid());
            peak.merge(p.instance(), rss, Math::max);
            cpu.merge(p.instance(), cpuTicksOf(p.pid()), Math::max);
          }
          try {
            Thread.sleep(100); // sampling cadence of a monitor thread, not a test delay
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "rss-sampler");
      sampler.setDaemon(true);
      sampler.start();
      // The coordinator exits once the pipeline finished, so wait for the processes, not a status.
      if (!mesh.awaitExit(mesh.processes(), Duration.ofMinutes(10))) {
        throw new IllegalStateException("the pipeline did not finish within 10 minutes; logs in " + dir);
      }
      sampler.interrupt();
      sampler.join();
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    JsonNode rep = new ObjectMapper().readTree(report.toFile());
    long stagesTotal = 0;
    Map<String, Long> sorted = new TreeMap<>(peak);
    for (Map.Entry<String, Long> e : sorted.entrySet()) {
      if (!e.getKey().equals(LocalProcess.COORDINATOR)) {
        stagesTotal += e.getValue();
      }
    }
    Map<String, Double> cpuSeconds = new TreeMap<>();
    cpu.forEach((k, v) -> cpuSeconds.put(k, v / 100.0));
    return new Result(hops, rep.get("events").asLong(), rep.get("eventsPerSecond").asDouble(),
        rep.get("p50Micros").asLong(), rep.get("p99Micros").asLong(), sorted, stagesTotal, wall,
        cpuSeconds, rep.get("seconds").asDouble(), rep.get("steadyEventsPerSecond").asDouble(), quarters(rep));
  }

  private static List<Double> quarters(JsonNode report) {
    List<Double> rates = new ArrayList<>();
    report.path("quarterEventsPerSecond").forEach(n -> rates.add(n.asDouble()));
    return rates;
  }

  /** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux). */
  static long cpuTicksOf(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  static long rssOf(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }
}
