package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3, must-be-true 4: a window stage merging a fast and a slow source never fires a window
 * before the slow source's watermark has passed it, even though the fast source is a minute ahead.
 */
@Tag("integration")
class FanInWatermarkIT {
  static final String SPEC = """
      pipeline: fanin
      coordinator: {port: {{COORDINATOR_PORT}}}
      stages:
        - name: fast
          type: ingest
          watermark: {maxOutOfOrder: 0s, idleTimeout: 0s, interval: 20ms}
        - name: slow
          type: ingest
          watermark: {maxOutOfOrder: 0s, idleTimeout: 0s, interval: 20ms}
        - name: win
          type: window
          from: [{stage: fast, partition: hash}, {stage: slow, partition: hash}]
          replicas: 2
          window: {tumbling: 1s}
          aggregate: count
        - name: out
          type: file-sink
          from: win
          path: out/counts.jsonl
          flush: 20ms
      """;

  static WindowEvents events(String prefix, long fromMillis, long toMillis, long step) {
    List<WindowEvents.Ev> events = new ArrayList<>();
    for (long t = fromMillis; t <= toMillis; t += step) {
      events.add(new WindowEvents.Ev(prefix + t, "k" + (t / step % 7), WindowEvents.T0 + t, 1));
    }
    return new WindowEvents(events);
  }

  @Test
  void noWindowFiresBeforeTheSlowInputsWatermarkPassedIt(@TempDir Path dir) throws Exception {
    try (Mesh mesh = Mesh.start(dir, SPEC, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      // The fast source runs a minute ahead.
      mesh.publish("fast", 0, "fast", events("f", 0, 60_000, 50).source());

      for (long slowTo : new long[] {3_000, 8_000, 20_000}) {
        mesh.publish("slow", 0, "slow-" + slowTo, events("s" + slowTo + "-", slowTo - 1_000, slowTo, 100).source());
        long slowWatermark = WindowEvents.T0 + slowTo - 1;
        // Wait until the window that the slow watermark just closed has fired...
        long lastClosedStart = WindowEvents.T0 + slowTo - 1_000 - Math.floorMod(slowTo, 1_000);
        mesh.await(Duration.ofSeconds(30), () -> "no result for the window at " + lastClosedStart,
            () -> starts(mesh).contains(lastClosedStart));
        // ...and check that no result is for a window the slow input has not passed.
        for (JsonNode line : mesh.readSink("out/counts.jsonl")) {
          long end = line.get("payload").get("window_end").asLong();
          assertThat(end - 1)
              .as("window ending %d fired with the slow watermark at %d", end, slowWatermark)
              .isLessThanOrEqualTo(slowWatermark);
        }
      }
    }
  }

  static List<Long> starts(Mesh mesh) throws Exception {
    List<Long> starts = new ArrayList<>();
    for (JsonNode line : mesh.readSink("out/counts.jsonl")) {
      starts.add(line.get("payload").get("window_start").asLong());
    }
    return starts;
  }
}
