package io.sluice.stages.map;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code type: map}: reshapes each JSON payload, and can re-key and re-time the event.
 *
 * <pre>
 * select: {user: $.user.id, amount: $.price}   # a new object with these fields (missing path: null)
 * set: {source: web, version: 2}               # add or replace top-level fields (after select)
 * key: $.user.id                               # the new key: the field's text
 * timestamp: $.ts                              # the new event time: epoch ms or ISO-8601 text
 * </pre>
 *
 * <p>At least one setting is required. {@code key} and {@code timestamp} read the input payload
 * (before {@code select}). Dead letters: a payload that is not JSON; a missing or null {@code key}
 * field, or one holding an object or array; a missing or unreadable {@code timestamp} field
 * (silently keeping the old time would put the event in the wrong window); {@code set} without
 * {@code select} on a payload that is not an object.
 *
 * <p>Every output keeps the input's id, attributes and trace context. Keys are UTF-8 strings,
 * payloads JSON. Stateless and thread-safe; each operator it makes is confined to its subtask's
 * thread.
 */
public final class MapStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "map";

  private static final List<String> SETTINGS = List.of("select", "set", "key", "timestamp");

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public StageDefinition<String, JsonNode, String, JsonNode> create(StageConfig config) {
    if (SETTINGS.stream().noneMatch(config::has)) {
      throw new ConfigException(
          "", "a map stage needs at least one of " + SETTINGS + ", e.g. select: {user: $.user.id}");
    }
    Map<String, JsonPointer> select = config.has("select") ? select(config) : null;
    Map<String, JsonNode> set = config.has("set") ? set(config) : null;
    MapOperator.Path key = config.has("key") ? new MapOperator.Path(config.string("key"), config.jsonPath("key")) : null;
    MapOperator.Path timestamp =
        config.has("timestamp") ? new MapOperator.Path(config.string("timestamp"), config.jsonPath("timestamp")) : null;
    return StageDefinition.of(
        Serdes.string(),
        Serdes.json(),
        Serdes.string(),
        Serdes.json(),
        () -> new MapOperator(select, set, key, timestamp));
  }

  private static Map<String, JsonPointer> select(StageConfig config) {
    JsonNode spec = config.node("select").orElseThrow();
    if (!spec.isObject() || spec.isEmpty()) {
      throw new ConfigException(
          "select", "'select' must map output fields to JSON paths, e.g. {user: $.user.id}, got: " + spec);
    }
    Map<String, JsonPointer> fields = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : spec.properties()) {
      // Read the object directly rather than through config.jsonPath("select.<name>"): an output
      // field name may contain a dot, which a dotted settings key cannot address.
      String key = "select." + e.getKey();
      if (!e.getValue().isTextual()) {
        throw new ConfigException(key, "'" + key + "' must be a JSON path such as $.user.id, got: " + e.getValue());
      }
      try {
        fields.put(e.getKey(), StageConfig.toPointer(e.getValue().textValue()));
      } catch (IllegalArgumentException ex) {
        throw new ConfigException(key, "'" + key + "' is not a JSON path: " + ex.getMessage());
      }
    }
    return Collections.unmodifiableMap(fields); // insertion order: the output's field order
  }

  private static Map<String, JsonNode> set(StageConfig config) {
    JsonNode spec = config.node("set").orElseThrow();
    if (!spec.isObject() || spec.isEmpty()) {
      throw new ConfigException("set", "'set' must map field names to values, e.g. {source: web}, got: " + spec);
    }
    Map<String, JsonNode> fields = new LinkedHashMap<>();
    spec.properties().forEach(e -> fields.put(e.getKey(), e.getValue().deepCopy()));
    return Collections.unmodifiableMap(fields);
  }
}
