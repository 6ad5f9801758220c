package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.sluice.cli.send.EventSource;
import io.sluice.proto.v1.Event;
import io.sluice.stages.enrich.ExampleEnrichmentService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped example, examples/compaction.yaml, run as written (ports aside) with every stage its
 * own JVM: ingest, dedup, enrich against the example service failing 30% of calls and answering
 * after random delays, a one-minute tumbling count, and the sinks. Every distinct (key, id) of a
 * minute is counted exactly once, so nothing was lost or duplicated on the way through the
 * retries, and nothing was set aside.
 */
@Tag("integration")
class CompactionExampleIT {
  @Test
  void theExamplePipelineCountsEveryDistinctEventOncePerMinute(@TempDir Path dir) throws Exception {
    String yaml = Files.readString(Path.of("..", "examples", "compaction.yaml"));
    try (ExampleEnrichmentService service =
        ExampleEnrichmentService.start(0, 0.3, Duration.ofMillis(20), 42)) {
      yaml = yaml.replace("port: 7000", "port: {{COORDINATOR_PORT}}")
          .replace("port: 7001", "port: {{PORT_1}}")
          .replace("localhost:7100", "localhost:" + service.port());
      assertThat(yaml).contains("{{PORT_1}}").contains("localhost:" + service.port());

      List<Event> events = new ArrayList<>();
      Map<String, Long> expected = new TreeMap<>();
      Set<String> seen = new HashSet<>();
      SplittableRandom random = new SplittableRandom(7);
      List<Event> originals = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        String key = "user-" + random.nextInt(10);
        long time = WindowEvents.T0 + i * 90L; // three minutes, in order
        Event e = Event.newBuilder().setId("order-" + i).setKey(ByteString.copyFromUtf8(key)).setEventTime(time)
            .setContentType("application/json")
            .setPayload(ByteString.copyFromUtf8("{\"user\":\"" + key + "\",\"amount\":" + random.nextInt(100) + "}"))
            .build();
        originals.add(e);
        events.add(e);
        if (random.nextInt(4) == 0) {
          events.add(originals.get(random.nextInt(Math.max(0, originals.size() - 5), originals.size())));
        }
      }
      for (Event e : events) {
        if (seen.add(e.getKey().toStringUtf8() + "/" + e.getId())) {
          long minute = e.getEventTime() - Math.floorMod(e.getEventTime(), 60_000L);
          expected.merge(e.getKey().toStringUtf8() + "@" + minute, 1L, Long::sum);
        }
      }

      try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
        mesh.awaitRunning(Duration.ofSeconds(90));
        Iterator<Event> it = events.iterator();
        EventSource source = () -> it.hasNext() ? it.next() : null;
        mesh.publish("in", 0, "orders", source);
        mesh.drain(Duration.ofMinutes(3));

        Map<String, Long> counts = new TreeMap<>();
        for (JsonNode line : mesh.readSink("out/compaction.jsonl")) {
          String cell = line.get("key").asText() + "@" + line.get("payload").get("window_start").asLong();
          counts.put(cell, line.get("payload").get("count").asLong()); // the last firing wins
        }
        assertThat(counts).isEqualTo(expected);
        assertThat(mesh.readSink("out/compaction-set-aside.jsonl")).isEmpty();
        assertThat(service.failures()).as("the service did fail calls, so retries were exercised").isPositive();
      }
    }
  }
}
