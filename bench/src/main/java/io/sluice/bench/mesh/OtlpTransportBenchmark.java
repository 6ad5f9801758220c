package io.sluice.bench.mesh;

import com.google.protobuf.ByteString;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.internal.trace.ProcessSpans;
import io.sluice.runtime.internal.trace.StageTracing;
import io.sluice.runtime.internal.trace.TraceOrigin;
import io.sluice.runtime.internal.trace.otlp.OtlpSender;
import io.sluice.runtime.internal.trace.otlp.OtlpSettings;
import io.sluice.runtime.internal.trace.otlp.OtlpSpanEncoder;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * What moving spans to a collector costs the machine, apart from making them: the stages' OTLP
 * sender sends the same requests as a stage would (512 {@code process} spans with the messaging
 * attributes, encoded by the stages' encoder), one at a time as the batch processor does, to the
 * mesh benchmarks' receiver ({@link SpanCounter}) on loopback, and the benchmark prints the CPU
 * this process spent per span and per byte: the sender's and the receiver's threads, the kernel's
 * TCP work on both ends, and the transport's allocations, all on this machine's cores.
 *
 * <p>It is the sending half of MeshBenchmark's {@code --trace-ratio} cost; the other half, making
 * and encoding the spans on the subtasks, is {@code SpanCostBenchmark}'s. Back to back (no {@code
 * --rate}) the requests find both ends hot: the floor. With {@code --rate} they are spaced out as
 * a stage's are (at 1% of the mesh's rate each stage sends about 50 a second), so each finds the
 * caches and the threads cold, as in the mesh. The JVM's own CPU while idle is measured after the
 * runs and subtracted.
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar io.sluice.bench.mesh.OtlpTransportBenchmark
 *     [--requests N] [--spans-per-request N] [--protocol grpc|http/protobuf] [--compression gzip|none]
 *     [--rate REQUESTS_PER_SECOND] [--warm-up REQUESTS] [--runs N]
 * </pre>
 */
public final class OtlpTransportBenchmark {
  private static final Duration IDLE_WINDOW = Duration.ofSeconds(5);

  private OtlpTransportBenchmark() {}

  public static void main(String[] args) throws Exception {
    int requests = 20_000;
    int spansPerRequest = 512;
    int runs = 3;
    String protocol = "grpc";
    String compression = "none";
    double rate = 0;
    int warmUp = 20_000;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--requests" -> requests = Integer.parseInt(args[++i]);
        case "--spans-per-request" -> spansPerRequest = Integer.parseInt(args[++i]);
        case "--protocol" -> protocol = args[++i];
        case "--runs" -> runs = Integer.parseInt(args[++i]);
        case "--compression" -> compression = args[++i];
        case "--rate" -> rate = Double.parseDouble(args[++i]);
        case "--warm-up" -> warmUp = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]
            + " (expected --requests, --spans-per-request, --protocol, --compression, --rate, --warm-up, --runs)");
      }
    }
    byte[] request = request(spansPerRequest);
    try (SpanCounter receiver = SpanCounter.start()) {
      String endpoint = receiver.endpoint(protocol);
      OtlpSender sender = OtlpSender.create(OtlpSettings.from(DefaultConfigProperties.createFromMap(Map.of(
          "otel.exporter.otlp.endpoint", endpoint,
          "otel.exporter.otlp.protocol", protocol,
          "otel.exporter.otlp.compression", compression))));
      try {
        System.out.printf(Locale.ROOT,
            "OTLP over %s on loopback, compression %s: requests of %d spans, %,d bytes (%.0f bytes a span)%n",
            protocol, compression, spansPerRequest, request.length, (double) request.length / spansPerRequest);
        send(sender, request, warmUp, 0); // warm-up, back to back: the JIT compiles both ends' paths
        long warmUpSpans = receiver.spans();
        long[] walls = new long[runs];
        long[] cpus = new long[runs];
        for (int run = 0; run < runs; run++) {
          long cpu0 = processCpuNanos();
          long t0 = System.nanoTime();
          send(sender, request, requests, rate);
          walls[run] = System.nanoTime() - t0;
          cpus[run] = processCpuNanos() - cpu0;
        }
        // Measured after the runs, once the JIT has long finished with the warm-up's paths.
        double idle = idleCpuShare();
        System.out.printf(Locale.ROOT, "  (this JVM idle takes %.1f ms of CPU a second; subtracted below)%n", idle * 1e3);
        long spans = (long) requests * spansPerRequest;
        for (int run = 0; run < runs; run++) {
          double cpu = cpus[run] - idle * walls[run];
          System.out.printf(Locale.ROOT,
              "run %d: %,d spans in %.1f s (%,.0f spans/s), CPU %.2f s: %.3f µs a span, %.2f ns a byte%n",
              run + 1, spans, walls[run] / 1e9, spans / (walls[run] / 1e9), cpu / 1e9, cpu / 1e3 / spans,
              cpu / ((long) request.length * requests));
        }
        long expected = ((long) runs * requests + warmUp) * spansPerRequest;
        if (receiver.spans() != expected) {
          throw new IllegalStateException("the receiver counted " + receiver.spans() + " spans, expected " + expected
              + " (" + warmUpSpans + " in the warm-up)");
        }
      } finally {
        sender.shutdown().join(10, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Sends {@code count} requests, each once the one before has been answered, as the batch
   * processor does; at most {@code rate} a second when it is above zero.
   */
  private static void send(OtlpSender sender, byte[] request, int count, double rate) throws InterruptedException {
    // Paced sends wait for the ticker's permits; back to back there is no ticker (and no thread).
    ScheduledExecutorService ticker = rate > 0 ? Executors.newSingleThreadScheduledExecutor() : null;
    try {
      Semaphore ticks = new Semaphore(0);
      if (ticker != null) {
        ticker.scheduleAtFixedRate(ticks::release, 0, Math.round(1e9 / rate), TimeUnit.NANOSECONDS);
      }
      for (int i = 0; i < count; i++) {
        if (ticker != null) {
          ticks.acquire();
        }
        CompletableResultCode result = sender.send(request).join(10, TimeUnit.SECONDS);
        if (!result.isSuccess()) {
          throw new IllegalStateException("request " + i + " failed", result.getFailureThrowable());
        }
      }
    } finally {
      if (ticker != null) {
        ticker.shutdownNow();
      }
    }
  }

  /**
   * The share of a core this JVM takes while nothing is sent (its timers, the channel's and the
   * server's housekeeping), measured over {@link #IDLE_WINDOW}: at a few requests a second it is a
   * tenth of the total, which the per-span figures should not carry.
   */
  private static double idleCpuShare() throws InterruptedException {
    long cpu0 = processCpuNanos();
    long t0 = System.nanoTime();
    // A measuring window, not a wait for anything: nothing counts the latch down.
    new CountDownLatch(1).await(IDLE_WINDOW.toNanos(), TimeUnit.NANOSECONDS);
    return (double) (processCpuNanos() - cpu0) / (System.nanoTime() - t0);
  }

  /** This process's user and system CPU (its threads' kernel work included). */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** An OTLP request of {@code count} process spans as a relay stage makes them. */
  private static byte[] request(int count) {
    CollectingSpanExporter collect = new CollectingSpanExporter();
    SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(collect)).build();
    try {
      ProcessSpans spans = ProcessSpans.create(StageTracing.using(provider), "relay1", 0);
      TraceOrigin origin = new TraceOrigin(1.0, 7);
      for (int i = 0; i < count; i++) {
        Event event = Event.newBuilder()
            .setId("gen-0-" + (1_000_000_000L + i * 7919L))
            .setKey(ByteString.copyFromUtf8("key-" + i % 1000))
            .setEventTime(1_767_225_600_000L + i)
            .setPayload(ByteString.copyFromUtf8("x".repeat(100)))
            .setTrace(origin.newRoot())
            .build();
        byte[] bytes = event.toByteArray();
        spans.startWire(bytes, 0, bytes.length);
        spans.end();
      }
    } finally {
      provider.shutdown().join(10, TimeUnit.SECONDS);
    }
    return new OtlpSpanEncoder().encode(collect.first(count));
  }
}
