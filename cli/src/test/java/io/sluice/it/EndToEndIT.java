package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.cli.send.EventGenerator;
import io.sluice.cli.send.PublishSummary;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true 1: ingest, filter, keyed count (2 replicas, hash) and file sink, each its own JVM
 * on loopback; 1,000,000 generated events; the sink's final count per key equals a reference
 * computed here from the same generator.
 */
@Tag("integration")
class EndToEndIT {
  static final long EVENTS = 1_000_000;

  @Test
  void finalCountPerKeyMatchesTheReference(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: clicks
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
            port: {{PORT_1}}
          - name: buys
            type: filter
            from: in
            where: {field: $.action, equals: purchase}
          - name: per-user
            type: count
            from: {stage: buys, partition: hash}
            replicas: 2
          - name: out
            type: file-sink
            from: per-user
            path: out/per-user.jsonl
        """;
    EventGenerator gen = new EventGenerator("e2e", 42, 1000, 100);
    Map<String, Long> reference = new HashMap<>();
    for (long i = 1; i <= EVENTS; i++) {
      EventGenerator.GeneratedEvent g = gen.describe(i);
      if (g.action().equals("purchase")) {
        reference.merge(g.key(), 1L, Long::sum);
      }
    }

    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      assertThat(mesh.launcher.processes()).hasSize(6); // coordinator, in, buys, 2 × per-user, out
      PublishSummary sent = mesh.publish("in", 0, "e2e", gen.source(EVENTS));
      assertThat(sent.ackedThrough()).isEqualTo(EVENTS);
      mesh.drain(Duration.ofMinutes(3));

      Map<String, Long> finalCounts = new HashMap<>();
      long lines = 0;
      for (JsonNode line : mesh.readSink("out/per-user.jsonl")) {
        lines++;
        finalCounts.merge(line.get("key").asText(), line.get("payload").get("count").asLong(), Math::max);
      }
      long purchases = reference.values().stream().mapToLong(Long::longValue).sum();
      assertThat(lines).as("one running count per purchase").isEqualTo(purchases);
      assertThat(finalCounts).isEqualTo(reference);
    }
  }
}
