package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.sluice.cli.send.EventGenerator;
import io.sluice.cli.send.EventSource;
import io.sluice.cli.send.PublishSummary;
import io.sluice.cli.send.Publisher;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.SetMaxRateRequest;
import io.sluice.proto.v1.StageStatus;
import io.sluice.runtime.internal.metrics.ProcessMemory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true 3: a sink throttled to 2,000 events/s while a producer offers as fast as it can
 * for 30 s. Heap and direct (off-heap) memory of every process stay under the bound derived in
 * docs/backpressure.md; the producer is held back rather than buffering; when the throttle lifts,
 * every event arrives exactly once.
 */
@Tag("integration")
class BackpressureIT {
  static final double SINK_RATE = 2_000;
  static final Duration OFFER_FOR = Duration.ofSeconds(30);
  static final long MB = 1024 * 1024;

  /**
   * Per stage process (docs/backpressure.md): data buffered is at most 2 channels × (512 KiB window
   * + 8 credits × 64 KiB frames + 32 KiB onReady threshold + 64 KiB batch) ≈ 2.3 MiB; Netty's
   * pooled allocator holds memory in chunks, so direct memory is bounded by the arenas' chunks
   * that this data can touch. The asserted bounds leave that allocator granularity in.
   */
  static final long DIRECT_BOUND = 48 * MB;
  /** Live data is a few MiB; the rest of the bound is garbage between serial-GC cycles (-Xmx 256 MiB). */
  static final long HEAP_BOUND = 256 * MB;

  @Test
  void throttledSinkHoldsTheProducerBackWithBoundedMemory(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: pressure
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
            maxRate: %d
        """.formatted((int) SINK_RATE);
    EventGenerator gen = new EventGenerator("pressure", 11, 1000, 100);
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));

      AtomicBoolean stop = new AtomicBoolean();
      ManagedChannel ch = mesh.channelTo("in", 0);
      Publisher publisher = new Publisher(ch, Publisher.Options.defaults("pressure"));
      CompletableFuture<PublishSummary> sending = CompletableFuture.supplyAsync(() -> {
        try {
          return publisher.publish(unbounded(gen, stop));
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });

      Map<String, Long> peakHeap = new TreeMap<>();
      Map<String, Long> peakDirect = new TreeMap<>();
      Map<String, Long> peakRss = new TreeMap<>();
      long producerPeakDirect = 0;
      long maxAhead = 0;
      long deadline = System.nanoTime() + OFFER_FOR.toNanos();
      while (System.nanoTime() < deadline) {
        PipelineStatus s = mesh.launcher.status();
        long sinkIn = 0;
        for (StageStatus st : s.getStagesList()) {
          for (InstanceStatus i : st.getInstancesList()) {
            peakHeap.merge(i.getInstanceId(), i.getHeapUsedBytes(), Math::max);
            peakDirect.merge(i.getInstanceId(), i.getDirectUsedBytes(), Math::max);
            peakRss.merge(i.getInstanceId(), i.getRssBytes(), Math::max);
            if (st.getName().equals("out")) {
              sinkIn += i.getRecordsIn();
            }
          }
        }
        producerPeakDirect = Math.max(producerPeakDirect, ProcessMemory.directUsed());
        maxAhead = Math.max(maxAhead, publisher.progress().sent() - sinkIn);
        Thread.sleep(250); // sampling cadence while the load runs, not a wait for a condition
      }
      long sentWhileThrottled = publisher.progress().sent();
      System.out.printf(Locale.ROOT, "offered for %ds: producer sent %,d; max ahead of sink %,d events%n",
          OFFER_FOR.toSeconds(), sentWhileThrottled, maxAhead);
      peakHeap.forEach((k, v) -> System.out.printf(Locale.ROOT,
          "  %-10s peak heap %6.1f MiB, direct %6.1f MiB, RSS %6.1f MiB%n",
          k, v / (double) MB, peakDirect.get(k) / (double) MB, peakRss.get(k) / (double) MB));
      System.out.printf(Locale.ROOT, "  producer   peak direct %6.1f MiB%n", producerPeakDirect / (double) MB);

      // Held back: at 2,000/s for 30 s the sink takes ~60k; the producer may be ahead only by what
      // the windows and inboxes of three hops hold (tens of thousands of 150-byte events), not by
      // the millions it could offer.
      assertThat(sentWhileThrottled).isLessThan((long) (SINK_RATE * OFFER_FOR.toSeconds() * 1.5) + 60_000);
      assertThat(maxAhead).isLessThan(60_000);
      assertThat(peakHeap).hasSize(3);
      peakHeap.forEach((k, v) -> assertThat(v).as("heap of %s", k).isPositive().isLessThan(HEAP_BOUND));
      peakDirect.forEach((k, v) -> assertThat(v).as("direct memory of %s", k).isLessThan(DIRECT_BOUND));
      assertThat(producerPeakDirect).isLessThan(DIRECT_BOUND);

      // Lift the throttle: everything offered arrives, exactly once.
      stop.set(true);
      AdminServiceGrpc.newBlockingStub(mesh.launcher.coordinatorChannel())
          .setMaxRate(SetMaxRateRequest.newBuilder().setStage("out").setEventsPerSecond(0).build());
      PublishSummary sent = sending.get(2, TimeUnit.MINUTES);
      ch.shutdownNow();
      mesh.drain(Duration.ofMinutes(2));
      List<String> expected = new ArrayList<>();
      for (long i = 1; i <= sent.events(); i++) {
        expected.add(gen.describe(i).id());
      }
      assertThat(sent.ackedThrough()).isEqualTo(sent.events());
      assertThat(FanOutFanInIT.ids(mesh.readSink("out/all.jsonl"))).containsExactlyInAnyOrderElementsOf(expected);
    }
  }

  /** Generated events until {@code stop} is set. */
  static EventSource unbounded(EventGenerator gen, AtomicBoolean stop) {
    return new EventSource() {
      long i = 1;

      @Override
      public Event next() {
        return stop.get() ? null : gen.event(i++);
      }

      @Override
      public void close() {}
    };
  }
}
