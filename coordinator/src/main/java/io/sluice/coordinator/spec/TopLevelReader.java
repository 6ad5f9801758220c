package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads the pipeline-wide keys of a spec ({@code pipeline, coordinator, maxParallelism, heartbeat,
 * checkpoints}); a problem leaves the default in place so reading goes on. Confined to the
 * loading thread.
 */
final class TopLevelReader {
  static final List<String> KEYS =
      List.of("pipeline", "coordinator", "maxParallelism", "heartbeat", "checkpoints", "stages");
  static final List<String> CHECKPOINT_KEYS = List.of("interval", "dir", "timeout", "keep", "mode");
  /** The largest key-group space (Flink's limit too). */
  static final int MAX_MAX_PARALLELISM = 32_768;

  private final YamlDocument doc;
  private final Problems problems;
  private final Path baseDir;

  TopLevelReader(YamlDocument doc, Problems problems, Path baseDir) {
    this.doc = doc;
    this.problems = problems;
    this.baseDir = baseDir;
  }

  void checkKeys(JsonNode root) {
    checkKeys(root, "", Set.copyOf(KEYS), KEYS);
  }

  String pipelineName(JsonNode root) {
    JsonNode name = root.get("pipeline");
    if (name == null || name.isNull()) {
      problems.add("", 1, "needs 'pipeline:' naming the pipeline");
      return "";
    }
    if (!name.isValueNode() || name.asText().isBlank()) {
      problems.add("", line("pipeline"), "'pipeline' must be a name, got: " + name);
      return "";
    }
    return name.asText();
  }

  int coordinatorPort(JsonNode root) {
    JsonNode coordinator = root.get("coordinator");
    if (coordinator == null || coordinator.isNull()) {
      return PipelineSpec.DEFAULT_COORDINATOR_PORT;
    }
    if (!isMapping(coordinator, "coordinator", "{port: 7000, dashboardPort: 7080}")) {
      return PipelineSpec.DEFAULT_COORDINATOR_PORT;
    }
    checkKeys(coordinator, "coordinator.", Set.of("port", "dashboardPort"),
        List.of("port", "dashboardPort"));
    return intValue(
        coordinator.get("port"), "coordinator.port", PipelineSpec.DEFAULT_COORDINATOR_PORT, 0,
        65535);
  }

  /** {@code coordinator: {dashboardPort:}}; {@link #coordinatorPort} reports unknown keys. */
  int dashboardPort(JsonNode root) {
    JsonNode coordinator = root.get("coordinator");
    if (coordinator == null || !coordinator.isObject()) {
      return PipelineSpec.DEFAULT_DASHBOARD_PORT;
    }
    return intValue(coordinator.get("dashboardPort"), "coordinator.dashboardPort",
        PipelineSpec.DEFAULT_DASHBOARD_PORT, 0, 65535);
  }

  int maxParallelism(JsonNode root) {
    return intValue(
        root.get("maxParallelism"),
        "maxParallelism",
        PipelineSpec.DEFAULT_MAX_PARALLELISM,
        1,
        MAX_MAX_PARALLELISM);
  }

  HeartbeatSpec heartbeat(JsonNode root) {
    JsonNode heartbeat = root.get("heartbeat");
    HeartbeatSpec defaults = HeartbeatSpec.DEFAULT;
    if (heartbeat == null || heartbeat.isNull()
        || !isMapping(heartbeat, "heartbeat", "{interval: 1s, timeout: 5s}")) {
      return defaults;
    }
    checkKeys(heartbeat, "heartbeat.", Set.of("interval", "timeout"), List.of("interval", "timeout"));
    Duration interval = duration(heartbeat.get("interval"), "heartbeat.interval", defaults.interval());
    Duration timeout = duration(heartbeat.get("timeout"), "heartbeat.timeout", defaults.timeout());
    if (timeout.compareTo(interval) <= 0) {
      problems.add(
          "",
          line("heartbeat.timeout"),
          "heartbeat.timeout (" + timeout.toMillis() + " ms) must be longer than"
              + " heartbeat.interval (" + interval.toMillis() + " ms), or every instance is"
              + " declared dead between two heartbeats");
    }
    return new HeartbeatSpec(interval, timeout);
  }

  Optional<CheckpointSpec> checkpoints(JsonNode root) {
    JsonNode checkpoints = root.get("checkpoints");
    if (checkpoints == null || checkpoints.isNull()
        || !isMapping(checkpoints, "checkpoints", "{interval: 10s, dir: .sluice/checkpoints}")) {
      return Optional.empty();
    }
    checkKeys(checkpoints, "checkpoints.", Set.copyOf(CHECKPOINT_KEYS), CHECKPOINT_KEYS);
    JsonNode intervalNode = checkpoints.get("interval");
    Duration interval = Duration.ofSeconds(10); // only stands in while the problem is reported
    if (intervalNode == null || intervalNode.isNull()) {
      problems.add("", line("checkpoints"), "'checkpoints' needs 'interval', how often a"
          + " checkpoint is taken (e.g. {interval: 10s})");
    } else {
      interval = duration(intervalNode, "checkpoints.interval", interval);
    }
    String dir = CheckpointSpec.DEFAULT_DIR;
    JsonNode dirNode = checkpoints.get("dir");
    if (dirNode != null && !dirNode.isNull()) {
      if (dirNode.isTextual() && !dirNode.asText().isBlank()) {
        dir = dirNode.asText();
      } else {
        problems.add("", line("checkpoints.dir"), "'checkpoints.dir' must be a path, got: " + dirNode);
      }
    }
    Duration timeout = duration(
        checkpoints.get("timeout"), "checkpoints.timeout", CheckpointSpec.DEFAULT_TIMEOUT);
    int keep = intValue(
        checkpoints.get("keep"), "checkpoints.keep", CheckpointSpec.DEFAULT_KEEP, 1,
        Integer.MAX_VALUE);
    CheckpointSpec.Mode mode = checkpointMode(checkpoints.get("mode"));
    return Optional.of(new CheckpointSpec(
        interval, baseDir.resolve(dir).normalize(), timeout, keep, mode));
  }

  private CheckpointSpec.Mode checkpointMode(JsonNode node) {
    if (node == null || node.isNull()) {
      return CheckpointSpec.Mode.EXACTLY_ONCE;
    }
    for (CheckpointSpec.Mode mode : CheckpointSpec.Mode.values()) {
      if (node.isTextual() && node.asText().equals(mode.specName())) {
        return mode;
      }
    }
    problems.add("", line("checkpoints.mode"), "'checkpoints.mode' must be exactly-once or"
        + " at-least-once, got: " + node);
    return CheckpointSpec.Mode.EXACTLY_ONCE;
  }

  private boolean isMapping(JsonNode node, String key, String example) {
    if (node.isObject()) {
      return true;
    }
    problems.add("", line(key), "'" + key + "' must be a mapping such as " + example + ", got: " + node);
    return false;
  }

  private void checkKeys(JsonNode mapping, String prefix, Set<String> known, List<String> listed) {
    for (Iterator<String> it = mapping.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!known.contains(key)) {
        problems.add(
            "",
            line(prefix + key),
            "unknown key '" + prefix + key + "' (known keys here: " + String.join(", ", listed)
                + ")");
      }
    }
  }

  private int intValue(JsonNode node, String key, int defaultValue, int min, int max) {
    if (node == null || node.isNull()) {
      return defaultValue;
    }
    if (node.isIntegralNumber() && node.canConvertToInt()
        && node.asInt() >= min && node.asInt() <= max) {
      return node.asInt();
    }
    problems.add(
        "", line(key), "'" + key + "' must be a whole number from " + min + " to " + max + ", got: " + node);
    return defaultValue;
  }

  private Duration duration(JsonNode node, String key, Duration defaultValue) {
    if (node == null || node.isNull()) {
      return defaultValue;
    }
    try {
      Duration d = StageConfig.parseDuration(key, node);
      if (d.isZero()) {
        problems.add("", line(key), "'" + key + "' must be longer than 0");
        return defaultValue;
      }
      return d;
    } catch (ConfigException e) {
      problems.add("", line(key), e.getMessage());
      return defaultValue;
    }
  }

  private int line(String dottedKey) {
    return doc.line(List.of(), dottedKey);
  }
}
