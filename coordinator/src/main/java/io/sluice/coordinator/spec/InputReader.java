package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.Partitioning;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a stage's {@code from:} in its three forms: a stage name; a mapping {@code {stage,
 * partition, output}}; or a list of either (fan-in). Confined to the loading thread.
 */
final class InputReader {
  private static final Set<String> KEYS = Set.of("stage", "partition", "output");

  private final YamlDocument doc;
  private final Problems problems;

  InputReader(YamlDocument doc, Problems problems) {
    this.doc = doc;
    this.problems = problems;
  }

  void read(StageDraft stage, JsonNode from) {
    List<Object> fromPath = append(stage.path, "from");
    if (from.isArray()) {
      if (from.isEmpty()) {
        problems.add(stage.label(), doc.line(fromPath), "'from:' lists no stage; name at least one");
      }
      for (int i = 0; i < from.size(); i++) {
        entry(stage, from.get(i), append(fromPath, i));
      }
    } else {
      entry(stage, from, fromPath);
    }
  }

  private void entry(StageDraft stage, JsonNode entry, List<Object> path) {
    int line = doc.line(path);
    if (entry.isTextual()) {
      stage.inputs.add(new InputSpec(entry.asText(), "", defaultPartitioning(stage), line));
      return;
    }
    if (!entry.isObject()) {
      problems.add(
          stage.label(),
          line,
          "'from:' must be a stage name, a mapping {stage: NAME, partition: hash|round_robin|"
              + "broadcast|forward, output: NAME}, or a list of these; got: " + entry);
      return;
    }
    boolean ok = true;
    var fields = entry.fieldNames();
    while (fields.hasNext()) {
      String key = fields.next();
      if (!KEYS.contains(key)) {
        problems.add(
            stage.label(),
            doc.line(append(path, key)),
            "'from:' has an unknown key '" + key + "' (known keys: stage, partition, output)");
        ok = false;
      }
    }
    JsonNode upstream = entry.get("stage");
    if (upstream == null || !upstream.isTextual() || upstream.asText().isEmpty()) {
      problems.add(
          stage.label(), line, "'from:' needs 'stage:' naming the stage to read from");
      ok = false;
    }
    String output = "";
    JsonNode outputNode = entry.get("output");
    if (outputNode != null && !outputNode.isNull()) {
      if (outputNode.isTextual()) {
        output = outputNode.asText();
      } else {
        problems.add(
            stage.label(),
            doc.line(append(path, "output")),
            "'output' must be the name of a side output such as dead-letter, got: " + outputNode);
        ok = false;
      }
    }
    Partitioning partitioning = defaultPartitioning(stage);
    JsonNode partition = entry.get("partition");
    if (partition != null && !partition.isNull()) {
      int partitionLine = doc.line(append(path, "partition"));
      Optional<Partitioning> parsed =
          partition.isTextual() ? PartitioningNames.parse(partition.asText()) : Optional.empty();
      if (parsed.isEmpty()) {
        problems.add(
            stage.label(),
            partitionLine,
            "partition '" + partition.asText() + "' is not one of "
                + String.join(", ", PartitioningNames.NAMES));
        ok = false;
      } else {
        partitioning = parsed.get();
        if (stage.factory != null
            && stage.factory.stateful()
            && partitioning != Partitioning.PARTITIONING_HASH
            && upstream != null) {
          problems.add(
              stage.label(),
              partitionLine,
              "type '" + stage.type + "' keeps keyed state, so it must read '" + upstream.asText()
                  + "' with partition: hash (got " + partition.asText() + ")");
          ok = false;
        }
      }
    }
    if (ok) {
      stage.inputs.add(new InputSpec(upstream.asText(), output, partitioning, line));
    }
  }

  /** Hash for a stage that keeps keyed state (its keys must meet), else round robin. */
  private static Partitioning defaultPartitioning(StageDraft stage) {
    return stage.factory != null && stage.factory.stateful()
        ? Partitioning.PARTITIONING_HASH
        : Partitioning.PARTITIONING_ROUND_ROBIN;
  }

  static List<Object> append(List<Object> path, Object segment) {
    List<Object> longer = new ArrayList<>(path);
    longer.add(segment);
    return longer;
  }
}
