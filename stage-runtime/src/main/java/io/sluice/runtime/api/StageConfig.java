package io.sluice.runtime.api;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stage's settings from the pipeline spec: the stage's YAML mapping as JSON, with typed getters
 * whose errors name the key. Immutable and thread-safe.
 */
public final class StageConfig {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)");

  private final String stageName;
  private final ObjectNode settings;
  private final Path baseDir;
  private boolean checkpointing;

  /**
   * @param stageName the stage's name
   * @param settings the stage's mapping (including {@code name}, {@code type}, {@code from}…)
   * @param baseDir the folder relative paths resolve against (the spec file's folder)
   */
  public StageConfig(String stageName, ObjectNode settings, Path baseDir) {
    this.stageName = Objects.requireNonNull(stageName, "stageName");
    this.settings = settings.deepCopy();
    this.baseDir = baseDir.toAbsolutePath().normalize();
  }

  /** Parses the JSON the coordinator sends in {@code Registered.stage_config_json}. */
  public static StageConfig fromJson(String stageName, String json, Path baseDir) {
    try {
      JsonNode node = MAPPER.readTree(json);
      if (!(node instanceof ObjectNode object)) {
        throw new ConfigException("", "stage settings must be a JSON object, got: " + json);
      }
      return new StageConfig(stageName, object, baseDir);
    } catch (IOException e) {
      throw new UncheckedIOException("stage settings are not valid JSON", e);
    }
  }

  public String stageName() {
    return stageName;
  }

  /**
   * Whether the pipeline takes checkpoints: a sink that commits on checkpoints (two-phase commit)
   * writes transactionally from its first line. False in the test kit unless set.
   */
  public boolean checkpointing() {
    return checkpointing;
  }

  /** A copy that says whether the pipeline takes checkpoints. */
  public StageConfig withCheckpointing(boolean on) {
    StageConfig c = new StageConfig(stageName, settings, baseDir);
    c.checkpointing = on;
    return c;
  }

  /** The stage's {@code type:}. */
  public String type() {
    return string("type");
  }

  /** The folder relative paths resolve against. */
  public Path baseDir() {
    return baseDir;
  }

  /** The whole mapping, as JSON text. */
  public String toJson() {
    return settings.toString();
  }

  /** A copy of the whole mapping. */
  public ObjectNode settings() {
    return settings.deepCopy();
  }

  public boolean has(String key) {
    JsonNode n = settings.at(pointer(key));
    return !n.isMissingNode() && !n.isNull();
  }

  /** The raw node at a dotted key path, if present. */
  public Optional<JsonNode> node(String key) {
    JsonNode n = settings.at(pointer(key));
    return n.isMissingNode() || n.isNull() ? Optional.empty() : Optional.of(n);
  }

  public String string(String key) {
    JsonNode n = required(key);
    if (!n.isValueNode()) {
      throw new ConfigException(key, "'" + key + "' must be a string, got: " + n);
    }
    return n.asText();
  }

  public String string(String key, String defaultValue) {
    return has(key) ? string(key) : defaultValue;
  }

  public long longValue(String key, long defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    JsonNode n = required(key);
    if (n.isIntegralNumber()) {
      return n.asLong();
    }
    if (n.isTextual()) {
      try {
        return Long.parseLong(n.asText().trim().replace("_", ""));
      } catch (NumberFormatException e) {
        // fall through to the error below
      }
    }
    throw new ConfigException(key, "'" + key + "' must be a whole number, got: " + n);
  }

  public int intValue(String key, int defaultValue) {
    long v = longValue(key, defaultValue);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new ConfigException(key, "'" + key + "' is out of range: " + v);
    }
    return (int) v;
  }

  public double doubleValue(String key, double defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    JsonNode n = required(key);
    if (n.isNumber()) {
      return n.asDouble();
    }
    throw new ConfigException(key, "'" + key + "' must be a number, got: " + n);
  }

  public boolean bool(String key, boolean defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    JsonNode n = required(key);
    if (n.isBoolean()) {
      return n.asBoolean();
    }
    throw new ConfigException(key, "'" + key + "' must be true or false, got: " + n);
  }

  /** A duration such as {@code 500ms}, {@code 2s}, {@code 1.5m}, {@code 1h}, or a number of ms. */
  public Duration duration(String key) {
    return parseDuration(key, required(key));
  }

  public Duration duration(String key, Duration defaultValue) {
    return has(key) ? duration(key) : defaultValue;
  }

  /** A path setting, resolved against the spec file's folder when relative. */
  public Path path(String key) {
    return baseDir.resolve(string(key)).normalize();
  }

  /**
   * A JSON path into the payload, such as {@code $.user.id} or {@code $.items[0].price},
   * translated to a Jackson {@link JsonPointer}.
   */
  public JsonPointer jsonPath(String key) {
    String path = string(key);
    try {
      return toPointer(path);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, "'" + key + "' is not a JSON path: " + e.getMessage());
    }
  }

  /** Translates {@code $.a.b[2]} (or {@code $}) into the JSON pointer {@code /a/b/2}. */
  public static JsonPointer toPointer(String path) {
    String p = path.trim();
    if (!p.startsWith("$")) {
      throw new IllegalArgumentException("'" + path + "' must start with $ (e.g. $.user.id)");
    }
    StringBuilder pointer = new StringBuilder();
    int i = 1;
    while (i < p.length()) {
      char c = p.charAt(i);
      if (c == '.') {
        int j = i + 1;
        while (j < p.length() && p.charAt(j) != '.' && p.charAt(j) != '[') {
          j++;
        }
        if (j == i + 1) {
          throw new IllegalArgumentException("'" + path + "' has an empty field name at " + i);
        }
        pointer.append('/').append(p, i + 1, j);
        i = j;
      } else if (c == '[') {
        int j = p.indexOf(']', i);
        if (j < 0) {
          throw new IllegalArgumentException("'" + path + "' has an unclosed [ at " + i);
        }
        String inner = p.substring(i + 1, j).trim();
        if (inner.startsWith("'") || inner.startsWith("\"")) {
          inner = inner.substring(1, inner.length() - 1);
        }
        pointer.append('/').append(inner);
        i = j + 1;
      } else {
        throw new IllegalArgumentException("'" + path + "' has '" + c + "' where . or [ belongs, at " + i);
      }
    }
    return JsonPointer.compile(pointer.toString());
  }

  /** Parses a duration setting's node; {@code key} is for the error message. */
  public static Duration parseDuration(String key, JsonNode n) {
    if (n.isIntegralNumber()) {
      return Duration.ofMillis(n.asLong());
    }
    if (n.isTextual()) {
      Matcher m = DURATION.matcher(n.asText().trim());
      if (m.matches()) {
        double amount = Double.parseDouble(m.group(1));
        double millis =
            switch (m.group(2)) {
              case "ms" -> amount;
              case "s" -> amount * 1_000;
              case "m" -> amount * 60_000;
              case "h" -> amount * 3_600_000;
              default -> amount * 86_400_000;
            };
        return Duration.ofMillis(Math.round(millis));
      }
    }
    throw new ConfigException(
        key, "'" + key + "' is not a duration (use e.g. 500ms, 2s, 1m, 1h): " + n);
  }

  private JsonNode required(String key) {
    JsonNode n = settings.at(pointer(key));
    if (n.isMissingNode() || n.isNull()) {
      throw new ConfigException(key, "'" + key + "' is required");
    }
    return n;
  }

  private static JsonPointer pointer(String dottedKey) {
    return JsonPointer.compile("/" + dottedKey.replace(".", "/"));
  }

  @Override
  public String toString() {
    return stageName + " " + settings;
  }
}
