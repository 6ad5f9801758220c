package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads one entry of {@code stages:}: its own keys ({@code name, type, replicas, port, from}) and
 * then the type's factory checks the rest. Cross-stage checks are {@link GraphChecker}'s job.
 * Confined to the loading thread.
 */
final class StageReader {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");

  private final YamlDocument doc;
  private final StageTypes types;
  private final Problems problems;
  private final Path baseDir;
  private final int maxParallelism;
  private final InputReader inputs;

  StageReader(
      YamlDocument doc, StageTypes types, Problems problems, Path baseDir, int maxParallelism) {
    this.doc = doc;
    this.types = types;
    this.problems = problems;
    this.baseDir = baseDir;
    this.maxParallelism = maxParallelism;
    this.inputs = new InputReader(doc, problems);
  }

  StageDraft read(int index, JsonNode node) {
    StageDraft stage = new StageDraft(index, doc.line(List.of("stages", index)));
    if (!(node instanceof ObjectNode mapping)) {
      problems.add(
          stage.label(),
          stage.line,
          "each stage must be a mapping with at least 'name:' and 'type:', got: " + node);
      return stage;
    }
    stage.settings = mapping;
    readName(stage, mapping.get("name"));
    readType(stage, mapping.get("type"));
    stage.replicas =
        readInt(stage, mapping.get("replicas"), "replicas", 1, 1, maxParallelism,
            "(at most maxParallelism, " + maxParallelism + ")");
    stage.port = readInt(stage, mapping.get("port"), "port", 0, 0, 65535, "(0 picks a free port)");
    JsonNode from = mapping.get("from");
    stage.hasFrom = from != null && !from.isNull();
    if (stage.hasFrom) {
      inputs.read(stage, from);
    }
    checkRole(stage);
    create(stage, mapping);
    return stage;
  }

  private void readName(StageDraft stage, JsonNode name) {
    if (name == null || name.isNull()) {
      problems.add(stage.label(), stage.line, "needs a 'name:'");
    } else if (!name.isValueNode() || name.asText().isEmpty()) {
      problems.add(stage.label(), keyLine(stage, "name"), "'name' must be a word, got: " + name);
    } else {
      stage.name = name.asText();
      if (!NAME.matcher(stage.name).matches()) {
        problems.add(
            stage.label(),
            keyLine(stage, "name"),
            "name '" + stage.name + "' must be lower-case letters, digits and '-', starting with"
                + " a letter or digit ([a-z0-9][a-z0-9-]*)");
      }
    }
  }

  private void readType(StageDraft stage, JsonNode type) {
    String known = "known types: " + String.join(", ", types.names());
    if (type == null || type.isNull()) {
      problems.add(stage.label(), stage.line, "needs a 'type:' (" + known + ")");
      return;
    }
    if (!type.isTextual()) {
      problems.add(stage.label(), keyLine(stage, "type"), "'type' must be a word (" + known + ")");
      return;
    }
    stage.type = type.asText();
    stage.factory = types.find(stage.type).orElse(null);
    if (stage.factory == null) {
      problems.add(
          stage.label(),
          keyLine(stage, "type"),
          "type '" + stage.type + "' is not a known stage type (" + known + ")");
    }
  }

  private int readInt(
      StageDraft stage, JsonNode node, String key, int defaultValue, int min, int max, String hint) {
    if (node == null || node.isNull()) {
      return defaultValue;
    }
    if (node.isIntegralNumber() && node.canConvertToInt()
        && node.asInt() >= min && node.asInt() <= max) {
      return node.asInt();
    }
    problems.add(
        stage.label(),
        keyLine(stage, key),
        key + " must be a whole number from " + min + " to " + max + " " + hint + ", got: " + node);
    return defaultValue;
  }

  private void checkRole(StageDraft stage) {
    if (stage.factory == null) {
      return;
    }
    boolean source = stage.factory.role() == StageFactory.Role.SOURCE;
    if (source && stage.hasFrom) {
      problems.add(
          stage.label(),
          keyLine(stage, "from"),
          "type '" + stage.type + "' is a source and reads no other stage; remove 'from:'");
    } else if (!source && !stage.hasFrom) {
      problems.add(
          stage.label(),
          stage.line,
          "type '" + stage.type + "' reads input, so it needs 'from:' naming the stage(s) it"
              + " reads from");
    }
  }

  /** Lets the type's factory check its settings now, before anything starts. */
  private void create(StageDraft stage, ObjectNode mapping) {
    if (stage.factory == null || stage.name == null) {
      return;
    }
    try {
      stage.definition = stage.factory.create(new StageConfig(stage.name, mapping, baseDir));
    } catch (ConfigException e) {
      problems.add(stage.label(), doc.line(stage.path, e.key()), e.getMessage());
    } catch (RuntimeException e) {
      // A factory bug, not a spec mistake; still reported with the stage rather than thrown,
      // so the author sees it next to the other problems.
      problems.add(
          stage.label(),
          stage.line,
          "type '" + stage.type + "' failed to check its settings (" + e + "); this is a bug in "
              + stage.factory.getClass().getName());
    }
  }

  private int keyLine(StageDraft stage, String key) {
    return doc.line(InputReader.append(stage.path, key));
  }
}
