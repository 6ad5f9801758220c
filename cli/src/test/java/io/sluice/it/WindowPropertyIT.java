package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.cli.send.Publisher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

/**
 * Issue 3, must-be-true 1: for random streams, out of order within the bound (and a share of
 * events far beyond it), run through ingest, two window stages and file sinks, each its own JVM,
 * every window result equals a batch reference computed from the same events, and the late output
 * holds exactly the events the reference deems late.
 *
 * <p>The reference follows DESIGN's semantics: the ingest sends a watermark after every request
 * (interval 0) and the test sends one event per request, so an event arrives at the window behind
 * the watermark max(earlier event times) − maxOutOfOrder − 1; it is late for a window when end − 1
 * + allowedLateness ≤ that watermark, and goes to the late output when it is late for all its
 * windows. The last result of every (key, window) must equal the aggregate over the non-late events
 * of that window; at the end of the input every window fires.
 */
@Tag("integration")
class WindowPropertyIT {
  static final long MAX_OUT_OF_ORDER = 400;
  static final long TUMBLE = 1_000;
  static final long TUMBLE_LATENESS = 300;
  static final long SLIDE_SIZE = 2_000;
  static final long SLIDE = 500;

  static final String SPEC = """
      pipeline: windows
      coordinator: {port: {{COORDINATOR_PORT}}}
      stages:
        - name: in
          type: ingest
          watermark: {maxOutOfOrder: 400ms, interval: 0s, idleTimeout: 0s}
        - name: tumbling
          type: window
          from: {stage: in, partition: hash}
          replicas: 2
          window: {tumbling: 1s}
          aggregate: count
          allowedLateness: 300ms
        - name: sliding
          type: window
          from: {stage: in, partition: hash}
          window: {sliding: {size: 2s, slide: 500ms}}
          aggregate: {sum: $.v}
        - name: results
          type: file-sink
          from: [tumbling, sliding]
          path: out/results.jsonl
        - name: late-tumbling
          type: file-sink
          from: {stage: tumbling, output: late}
          path: out/late-tumbling.jsonl
        - name: late-sliding
          type: file-sink
          from: {stage: sliding, output: late}
          path: out/late-sliding.jsonl
      """;

  @Property(tries = 3, shrinking = net.jqwik.api.ShrinkingMode.OFF)
  void everyWindowResultEqualsTheBatchReference(@ForAll("streams") WindowEvents stream) throws Exception {
    Path dir = Files.createTempDirectory("window-it");
    try (Mesh mesh = Mesh.start(dir, SPEC, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(90));
      mesh.publish("in", 0, Publisher.Options.defaults("prop").withBatchSize(1), stream.source());
      mesh.drain(Duration.ofMinutes(2));

      Reference tumbling = Reference.compute(stream.events(), TUMBLE, TUMBLE, TUMBLE_LATENESS, false);
      Reference sliding = Reference.compute(stream.events(), SLIDE_SIZE, SLIDE, 0, true);
      Map<String, Long> lastTumbling = new TreeMap<>();
      Map<String, Long> lastSliding = new TreeMap<>();
      Map<String, Integer> firing = new HashMap<>();
      for (JsonNode line : mesh.readSink("out/results.jsonl")) {
        JsonNode p = line.get("payload");
        long start = p.get("window_start").asLong();
        long end = p.get("window_end").asLong();
        String cell = line.get("key").asText() + "@" + start + "-" + end;
        // Keep the result of the highest firing number: the last update of that window.
        String id = line.get("id").asText();
        int n = Integer.parseInt(id.substring(id.lastIndexOf('/') + 1));
        if (firing.getOrDefault(cell, -1) > n) {
          continue;
        }
        firing.put(cell, n);
        if (end - start == TUMBLE) {
          lastTumbling.put(cell, p.get("count").asLong());
        } else {
          lastSliding.put(cell, p.get("sum").asLong());
        }
      }
      assertThat(lastTumbling).isEqualTo(tumbling.results);
      assertThat(lastSliding).isEqualTo(sliding.results);
      assertThat(ids(mesh.readSink("out/late-tumbling.jsonl"))).containsExactlyInAnyOrderElementsOf(tumbling.late);
      assertThat(ids(mesh.readSink("out/late-sliding.jsonl"))).containsExactlyInAnyOrderElementsOf(sliding.late);
    } finally {
      deleteTree(dir);
    }
  }

  @Provide
  Arbitrary<WindowEvents> streams() {
    Arbitrary<Integer> sizes = Arbitraries.integers().between(150, 400);
    Arbitrary<Long> seeds = Arbitraries.longs();
    return Combinators.combine(sizes, seeds).as(WindowPropertyIT::stream);
  }

  /**
   * A stream whose "frontier" moves forward by 0–120 ms an event; most events lie within
   * maxOutOfOrder behind it, one in twelve lies 1–4 s behind (late for some or all windows).
   */
  static WindowEvents stream(int size, long seed) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
    List<WindowEvents.Ev> events = new ArrayList<>(size);
    long frontier = WindowEvents.T0 + r.nextLong(0, 1_000);
    for (int i = 0; i < size; i++) {
      frontier += r.nextLong(0, 121);
      long time = r.nextInt(12) == 0
          ? frontier - r.nextLong(1_000, 4_000)
          : frontier - r.nextLong(0, MAX_OUT_OF_ORDER + 1);
      events.add(new WindowEvents.Ev("e" + i, "k" + r.nextInt(5), time, r.nextLong(1, 100)));
    }
    return new WindowEvents(events);
  }

  /** The batch reference: final aggregates per key and window, and the late events. */
  record Reference(Map<String, Long> results, List<String> late) {
    static Reference compute(List<WindowEvents.Ev> events, long size, long slide, long lateness, boolean sum) {
      Map<String, Long> results = new TreeMap<>();
      List<String> late = new ArrayList<>();
      long maxSeen = Long.MIN_VALUE;
      for (WindowEvents.Ev e : events) {
        long watermark = maxSeen == Long.MIN_VALUE ? Long.MIN_VALUE : maxSeen - MAX_OUT_OF_ORDER - 1;
        boolean anyOnTime = false;
        long lastStart = e.time() - Math.floorMod(e.time(), slide);
        for (long start = lastStart; start > e.time() - size; start -= slide) {
          long end = start + size;
          if (watermark != Long.MIN_VALUE && end - 1 + lateness <= watermark) {
            continue; // late for this window
          }
          anyOnTime = true;
          results.merge(e.key() + "@" + start + "-" + end, sum ? e.value() : 1L, Long::sum);
        }
        if (!anyOnTime) {
          late.add(e.id());
        }
        maxSeen = Math.max(maxSeen, e.time());
      }
      return new Reference(results, late);
    }
  }

  static List<String> ids(List<JsonNode> lines) {
    List<String> ids = new ArrayList<>();
    for (JsonNode l : lines) {
      ids.add(l.get("id").asText());
    }
    return ids;
  }

  static void deleteTree(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
