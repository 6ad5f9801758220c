package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.cli.send.EventGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true 2: fan-out (one stage feeding two) and fan-in (a stage merging two), with exact
 * outputs: every expected event exactly once on each sink, nothing else.
 *
 * <pre>
 *            ┌─► buys (filter purchase) ─┬─► out-buys (file-sink)
 *   in ──────┤                           └─┐
 *            └─► views (filter view) ──────┴─► merged (passthrough, 2 replicas) ─► out-all
 * </pre>
 */
@Tag("integration")
class FanOutFanInIT {
  static final long EVENTS = 100_000;

  @Test
  void everyEventArrivesExactlyOnceOnEveryPath(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: fan
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
          - name: buys
            type: filter
            from: in
            where: {field: $.action, equals: purchase}
          - name: views
            type: filter
            from: in
            where: {field: $.action, equals: view}
          - name: merged
            type: passthrough
            replicas: 2
            from: [buys, {stage: views, partition: round_robin}]
          - name: out-all
            type: file-sink
            from: merged
            path: out/all.jsonl
          - name: out-buys
            type: file-sink
            from: buys
            path: out/buys.jsonl
        """;
    EventGenerator gen = new EventGenerator("fan", 7, 500, 100);
    List<String> buys = new ArrayList<>();
    List<String> all = new ArrayList<>();
    for (long i = 1; i <= EVENTS; i++) {
      EventGenerator.GeneratedEvent g = gen.describe(i);
      if (g.action().equals("purchase")) {
        buys.add(g.id());
        all.add(g.id());
      } else if (g.action().equals("view")) {
        all.add(g.id());
      }
    }
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      mesh.publish("in", 0, "fan", gen.source(EVENTS));
      mesh.drain(Duration.ofMinutes(2));
      assertThat(ids(mesh.readSink("out/buys.jsonl"))).containsExactlyInAnyOrderElementsOf(buys);
      assertThat(ids(mesh.readSink("out/all.jsonl"))).containsExactlyInAnyOrderElementsOf(all);
    }
  }

  static List<String> ids(List<JsonNode> lines) {
    List<String> ids = new ArrayList<>(lines.size());
    for (JsonNode n : lines) {
      ids.add(n.get("id").asText());
    }
    return ids;
  }
}
