package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.InstanceStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3, must-be-true 2: a window merging two sources, one of which stays silent. With an idle
 * timeout the silent source is left out after it and the windows fire; with idleness switched off
 * they wait for it, and fire as soon as it speaks.
 */
@Tag("integration")
class IdlenessIT {
  static final String SPEC = """
      pipeline: idle
      coordinator: {port: {{COORDINATOR_PORT}}}
      stages:
        - name: busy
          type: ingest
          watermark: {maxOutOfOrder: 0s, idleTimeout: IDLE, interval: 50ms}
        - name: silent
          type: ingest
          watermark: {maxOutOfOrder: 0s, idleTimeout: IDLE, interval: 50ms}
        - name: win
          type: window
          from: [{stage: busy, partition: hash}, {stage: silent, partition: hash}]
          window: {tumbling: 1s}
          aggregate: count
        - name: out
          type: file-sink
          from: win
          path: out/counts.jsonl
          flush: 20ms
      """;

  /** Five windows of events, then one event at T0+10 s that moves the busy source's watermark past them. */
  static WindowEvents busyEvents() {
    List<WindowEvents.Ev> events = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      events.add(new WindowEvents.Ev("b" + i, "k" + (i % 3), WindowEvents.T0 + i * 100L, 1));
    }
    events.add(new WindowEvents.Ev("b-last", "k0", WindowEvents.T0 + 10_000, 1));
    return new WindowEvents(events);
  }

  static Map<String, Long> expectedCounts() {
    Map<String, Long> counts = new TreeMap<>();
    for (WindowEvents.Ev e : busyEvents().events()) {
      if (e.time() < WindowEvents.T0 + 5_000) {
        long start = e.time() - Math.floorMod(e.time(), 1_000);
        counts.merge(e.key() + "@" + start, 1L, Long::sum);
      }
    }
    return counts;
  }

  @Test
  void windowsFireAfterTheIdleTimeoutOfTheSilentSource(@TempDir Path dir) throws Exception {
    try (Mesh mesh = Mesh.start(dir, SPEC.replace("IDLE", "1s"), Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      mesh.publish("busy", 0, "busy", busyEvents().source());

      // Still running, nothing drained: only idleness can let the windows fire.
      Map<String, Long> counts = awaitCounts(mesh, expectedCounts().size(), Duration.ofSeconds(30));
      assertThat(counts).isEqualTo(expectedCounts());
      assertThat(mesh.instance("silent", 0).getState().name()).contains("RUNNING");
    }
  }

  @Test
  void withIdlenessOffWindowsWaitForTheSilentSource(@TempDir Path dir) throws Exception {
    try (Mesh mesh = Mesh.start(dir, SPEC.replace("IDLE", "0s"), Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      mesh.publish("busy", 0, "busy", busyEvents().source());

      // The busy source's watermark has passed every window, as the coordinator hears it...
      awaitWatermark(mesh, "busy", WindowEvents.T0 + 10_000 - 1, Duration.ofSeconds(30));
      // ...and twice the other test's idle timeout later (a wait for something NOT to happen can
      // only be a wait), the window's watermark is still unknown and nothing fired.
      Thread.sleep(2_000);
      InstanceStatus win = mesh.instance("win", 0);
      assertThat(win.getWatermark()).isEqualTo(Long.MIN_VALUE);
      assertThat(mesh.readSink("out/counts.jsonl")).isEmpty();

      // The silent source speaks: now the windows fire.
      mesh.publish("silent", 0, "silent", new WindowEvents(List.of(
          new WindowEvents.Ev("s0", "k9", WindowEvents.T0 + 10_000, 1))).source());
      Map<String, Long> counts = awaitCounts(mesh, expectedCounts().size(), Duration.ofSeconds(30));
      assertThat(counts).isEqualTo(expectedCounts());
    }
  }

  static Map<String, Long> awaitCounts(Mesh mesh, int windows, Duration timeout) throws Exception {
    Map<String, Long> counts = new TreeMap<>();
    mesh.await(timeout, () -> "only " + counts.size() + " of " + windows + " window results: " + counts, () -> {
      counts.clear();
      for (JsonNode line : mesh.readSink("out/counts.jsonl")) {
        counts.put(line.get("key").asText() + "@" + line.get("payload").get("window_start").asLong(),
            line.get("payload").get("count").asLong());
      }
      return counts.size() >= windows;
    });
    return counts;
  }

  static void awaitWatermark(Mesh mesh, String stage, long atLeast, Duration timeout) throws Exception {
    mesh.await(timeout, () -> stage + "'s watermark is " + mesh.instance(stage, 0).getWatermark()
        + ", not yet " + atLeast, () -> mesh.instance(stage, 0).getWatermark() >= atLeast);
  }
}
