package io.sluice.stages.format;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The JSON-lines form of an event, used by {@code sluice send --file}, {@code sluice tail} and the
 * sinks: one JSON object per line,
 *
 * <pre>{"id": "e1", "key": "user-7", "time": 1767225600000, "payload": {...}}</pre>
 *
 * <p>Fields: {@code id} (string, optional: ingest assigns one when empty), {@code key} (string,
 * optional: UTF-8 bytes of the partitioning key), {@code time} (epoch milliseconds or an ISO-8601
 * instant), {@code payload} (any JSON value; required), {@code attributes} (optional object of
 * strings) and {@code error} (a dead letter's reason, carried in the {@code error} attribute).
 * Other fields are rejected, so a misspelt field is reported rather than ignored.
 *
 * <p>{@link #format} writes {@code id}, {@code key}, {@code time} (epoch milliseconds) and {@code
 * payload}, plus {@code error} when the event has an {@code error} attribute. A payload that is
 * valid JSON is embedded as JSON (compacted); any other payload is embedded as a JSON string of its
 * UTF-8 text. Other attributes and the trace context are not written.
 *
 * <p>Stateless and thread-safe.
 */
public final class JsonLines {
  /** The {@code Event.content_type} of parsed events. */
  public static final String CONTENT_TYPE = "application/json";

  /** The attribute that carries a dead letter's reason, written as the line's {@code "error"}. */
  public static final String ERROR_ATTRIBUTE = "error";

  private static final List<String> FIELDS = List.of("id", "key", "time", "payload", "attributes", "error");
  private static final String EXAMPLE = "{\"id\": \"e1\", \"key\": \"user-7\", \"time\": 1767225600000, \"payload\": {...}}";

  // Lines are parsed strictly: a repeated field or text after the object is an error, not
  // something to guess about.
  private static final JsonMapper MAPPER =
      JsonMapper.builder()
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();
  // Payloads are only sniffed: anything that is one JSON value is embedded as JSON.
  private static final ObjectReader PAYLOAD_READER =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build().reader();

  private JsonLines() {}

  /**
   * Parses one line into an event with content type {@value #CONTENT_TYPE}; {@code time} is
   * required.
   *
   * @param lineNumber the line's 1-based number, for the error message
   * @throws JsonLinesException naming the line and what is wrong with it
   */
  public static Event parse(String line, long lineNumber) {
    return parse(line, lineNumber, OptionalLong.empty());
  }

  /**
   * Parses one line like {@link #parse(String, long)}, but gives a line without {@code time} the
   * time {@code defaultTimeMillis} (e.g. the sender's clock).
   */
  public static Event parse(String line, long lineNumber, long defaultTimeMillis) {
    return parse(line, lineNumber, OptionalLong.of(defaultTimeMillis));
  }

  private static Event parse(String line, long lineNumber, OptionalLong defaultTime) {
    if (line == null || line.isBlank()) {
      throw new JsonLinesException(lineNumber, "the line is empty; expected a JSON object such as " + EXAMPLE);
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(line);
    } catch (JsonProcessingException e) {
      throw new JsonLinesException(lineNumber, "not valid JSON: " + describe(e), e);
    }
    if (!root.isObject()) {
      throw new JsonLinesException(
          lineNumber, "expected a JSON object such as " + EXAMPLE + ", got " + kind(root));
    }
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      if (!FIELDS.contains(field.getKey())) {
        throw new JsonLinesException(
            lineNumber, "unknown field \"" + field.getKey() + "\" (a line has " + String.join(", ", FIELDS) + ")");
      }
    }

    Event.Builder event = Event.newBuilder().setContentType(CONTENT_TYPE);
    event.setId(optionalString(root, "id", lineNumber));
    event.setKey(ByteString.copyFromUtf8(optionalString(root, "key", lineNumber)));

    JsonNode time = root.get("time");
    if (time == null || time.isNull()) {
      if (defaultTime.isEmpty()) {
        throw new JsonLinesException(
            lineNumber, "\"time\" is missing; give epoch milliseconds or an ISO-8601 instant (e.g. \"2026-01-01T00:00:00Z\")");
      }
      event.setEventTime(defaultTime.getAsLong());
    } else {
      try {
        event.setEventTime(EventTimes.fromJson(time));
      } catch (IllegalArgumentException e) {
        throw new JsonLinesException(lineNumber, "\"time\" " + e.getMessage());
      }
    }

    JsonNode payload = root.get("payload");
    if (payload == null) {
      throw new JsonLinesException(lineNumber, "\"payload\" is missing (any JSON value; null for none)");
    }
    try {
      event.setPayload(ByteString.copyFrom(MAPPER.writeValueAsBytes(payload)));
    } catch (JsonProcessingException e) {
      throw new JsonLinesException(lineNumber, "cannot re-encode \"payload\": " + e.getOriginalMessage(), e);
    }

    JsonNode attributes = root.get("attributes");
    if (attributes != null && !attributes.isNull()) {
      if (!attributes.isObject()) {
        throw new JsonLinesException(
            lineNumber, "\"attributes\" must be an object of strings, got " + kind(attributes));
      }
      for (Map.Entry<String, JsonNode> a : attributes.properties()) {
        if (!a.getValue().isTextual()) {
          throw new JsonLinesException(
              lineNumber, "attribute \"" + a.getKey() + "\" must be a string, got " + a.getValue());
        }
        event.putAttributes(a.getKey(), a.getValue().textValue());
      }
    }
    JsonNode error = root.get("error");
    if (error != null && !error.isNull()) {
      if (!error.isTextual()) {
        throw new JsonLinesException(lineNumber, "\"error\" must be a string, got " + error);
      }
      // The top-level field is the documented place for a dead letter's reason, so it wins over
      // an "error" inside "attributes".
      event.putAttributes(ERROR_ATTRIBUTE, error.textValue());
    }
    return event.build();
  }

  /** The line (without a line break) for an event. */
  public static String format(Event event) {
    return format(
        event.getId(),
        event.getKey().toStringUtf8(),
        event.getEventTime(),
        event.getPayload().toByteArray(),
        event.getAttributesMap());
  }

  /**
   * The line (without a line break) for an event given as decoded pieces, as a stage sees a
   * record; the same output as {@link #format(Event)}.
   *
   * @param attributes the event's attributes; only {@value #ERROR_ATTRIBUTE} is written
   */
  public static String format(
      String id, String key, long timeMillis, byte[] payload, Map<String, String> attributes) {
    StringWriter out = new StringWriter(64 + payload.length);
    try (JsonGenerator g = MAPPER.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("id", id);
      g.writeStringField("key", key);
      g.writeNumberField("time", timeMillis);
      g.writeFieldName("payload");
      JsonNode tree = jsonOrNull(payload);
      if (tree != null) {
        MAPPER.writeTree(g, tree);
      } else {
        g.writeString(new String(payload, StandardCharsets.UTF_8));
      }
      String error = attributes.get(ERROR_ATTRIBUTE);
      if (error != null) {
        g.writeStringField("error", error);
      }
      g.writeEndObject();
    } catch (IOException e) {
      // A StringWriter does not fail; this would be a Jackson bug.
      throw new UncheckedIOException("cannot format an event as JSON", e);
    }
    return out.toString();
  }

  private static JsonNode jsonOrNull(byte[] payload) {
    if (payload.length == 0) {
      return null;
    }
    try {
      JsonNode tree = PAYLOAD_READER.readTree(payload);
      return tree == null || tree.isMissingNode() ? null : tree;
    } catch (IOException e) {
      return null; // not JSON: written as a string
    }
  }

  private static String optionalString(JsonNode root, String field, long lineNumber) {
    JsonNode n = root.get(field);
    if (n == null || n.isNull()) {
      return "";
    }
    if (!n.isTextual()) {
      throw new JsonLinesException(lineNumber, "\"" + field + "\" must be a string, got " + n);
    }
    return n.textValue();
  }

  private static String kind(JsonNode n) {
    if (n.isArray()) {
      return "an array";
    }
    if (n.isObject()) {
      return "an object";
    }
    return n.toString();
  }

  private static String describe(JsonProcessingException e) {
    var location = e.getLocation();
    String where = location == null || location.getColumnNr() < 0 ? "" : " (column " + location.getColumnNr() + ")";
    return e.getOriginalMessage() + where;
  }
}
