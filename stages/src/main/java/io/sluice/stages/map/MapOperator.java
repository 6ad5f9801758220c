package io.sluice.stages.map;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.stages.format.EventTimes;
import java.util.Locale;
import java.util.Map;

/**
 * The operator of a {@code map} stage. Thread-confined to its subtask. Never mutates the input's
 * payload: {@code set} works on a copy.
 */
final class MapOperator implements Operator<String, JsonNode, String, JsonNode> {
  /** A JSON path as written in the spec (for messages) and compiled. */
  record Path(String text, JsonPointer pointer) {}

  private final Map<String, JsonPointer> select; // null when not configured, likewise below
  private final Map<String, JsonNode> set;
  private final Path key;
  private final Path timestamp;
  private OperatorContext<String, JsonNode> context;

  MapOperator(Map<String, JsonPointer> select, Map<String, JsonNode> set, Path key, Path timestamp) {
    this.select = select;
    this.set = set;
    this.key = key;
    this.timestamp = timestamp;
  }

  @Override
  public void init(OperatorContext<String, JsonNode> context) {
    this.context = context;
  }

  @Override
  public void process(Record<String, JsonNode> record) {
    JsonNode in = record.value();
    // Key and time first, from the input payload, so that a record that fails them is
    // dead-lettered before any work is spent on its new payload.
    String newKey = null;
    if (key != null) {
      JsonNode k = in.at(key.pointer());
      if (k.isMissingNode() || k.isNull()) {
        context.deadLetter("map: key field " + key.text() + " is missing");
        return;
      }
      if (k.isContainerNode()) {
        context.deadLetter(
            "map: key field " + key.text() + " holds " + (k.isArray() ? "an array" : "an object")
                + "; a key must be a string, number or boolean");
        return;
      }
      newKey = k.asText();
    }
    long newTime = record.timestamp();
    if (timestamp != null) {
      JsonNode t = in.at(timestamp.pointer());
      if (t.isMissingNode() || t.isNull()) {
        context.deadLetter("map: timestamp field " + timestamp.text() + " is missing");
        return;
      }
      try {
        newTime = EventTimes.fromJson(t);
      } catch (IllegalArgumentException e) {
        context.deadLetter("map: timestamp field " + timestamp.text() + " " + e.getMessage());
        return;
      }
    }

    JsonNode out = in;
    if (select != null) {
      ObjectNode selected = JsonNodeFactory.instance.objectNode();
      select.forEach((name, pointer) -> {
        JsonNode v = in.at(pointer);
        selected.set(name, v.isMissingNode() ? NullNode.getInstance() : v);
      });
      out = selected;
    }
    if (set != null) {
      if (!out.isObject()) {
        context.deadLetter("map: set needs a JSON object payload, got " + describe(out));
        return;
      }
      // Without select, `out` is the input itself: copy its top level (set only touches that).
      ObjectNode copy = out == in ? JsonNodeFactory.instance.objectNode().setAll((ObjectNode) in) : (ObjectNode) out;
      // Constants are copied per record: downstream code may mutate a payload it receives.
      set.forEach((name, value) -> copy.set(name, value.deepCopy()));
      out = copy;
    }

    Record<String, JsonNode> result = out == in ? record : record.withValue(out);
    if (newKey != null) {
      result = result.withKey(newKey);
    }
    if (timestamp != null) {
      result = result.withTimestamp(newTime);
    }
    context.forward(result);
  }

  private static String describe(JsonNode n) {
    if (n.isArray()) {
      return "an array";
    }
    return n.isTextual() ? "a string" : n.getNodeType().name().toLowerCase(Locale.ROOT);
  }
}
