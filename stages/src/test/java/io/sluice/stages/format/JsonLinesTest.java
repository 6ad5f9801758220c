package io.sluice.stages.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonLinesTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void parsesTheDesignShape() {
    Event e =
        JsonLines.parse(
            "{\"id\": \"e1\", \"key\": \"user-7\", \"time\": 1767225600000, \"payload\": {\"action\": \"buy\", \"price\": 3.5}}",
            1);
    assertThat(e.getId()).isEqualTo("e1");
    assertThat(e.getKey().toStringUtf8()).isEqualTo("user-7");
    assertThat(e.getEventTime()).isEqualTo(1_767_225_600_000L);
    assertThat(e.getPayload().toStringUtf8()).isEqualTo("{\"action\":\"buy\",\"price\":3.5}");
    assertThat(e.getContentType()).isEqualTo("application/json");
    assertThat(e.getAttributesMap()).isEmpty();
  }

  @Test
  void acceptsIsoInstantsOptionalFieldsAttributesAndErrors() {
    Event e =
        JsonLines.parse(
            "{\"time\": \"2026-01-01T01:00:00+01:00\", \"payload\": 42, \"attributes\": {\"src\": \"web\"},"
                + " \"error\": \"bad\"}",
            3);
    assertThat(e.getEventTime()).isEqualTo(1_767_225_600_000L);
    assertThat(e.getId()).isEmpty();
    assertThat(e.getKey()).isEqualTo(ByteString.EMPTY);
    assertThat(e.getPayload().toStringUtf8()).isEqualTo("42");
    assertThat(e.getAttributesMap()).containsExactlyInAnyOrderEntriesOf(Map.of("src", "web", "error", "bad"));

    assertThat(JsonLines.parse("{\"time\": \"2026-01-01T00:00:00.250Z\", \"payload\": null}", 1).getEventTime())
        .isEqualTo(1_767_225_600_250L);
  }

  @Test
  void aDefaultTimeFillsInOnlyWhenTimeIsAbsent() {
    assertThat(JsonLines.parse("{\"payload\": {}}", 1, 99).getEventTime()).isEqualTo(99);
    assertThat(JsonLines.parse("{\"time\": 5, \"payload\": {}}", 1, 99).getEventTime()).isEqualTo(5);
  }

  @ParameterizedTest(name = "[{index}] {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "'{\"time\": \"yesterday\", \"payload\": 1}' | line 17: \"time\" must be epoch milliseconds or an ISO-8601 instant, got \"yesterday\"",
        "'{\"time\": 1.5, \"payload\": 1}' | line 17: \"time\" must be epoch milliseconds or an ISO-8601 instant, got 1.5",
        "'{\"time\": 99999999999999999999, \"payload\": 1}' | line 17: \"time\" must be epoch milliseconds or an ISO-8601 instant, got 99999999999999999999",
        "'{\"payload\": 1}' | line 17: \"time\" is missing; give epoch milliseconds or an ISO-8601 instant (e.g. \"2026-01-01T00:00:00Z\")",
        "'{\"time\": 1}' | line 17: \"payload\" is missing (any JSON value; null for none)",
        "'{\"id\": 5, \"time\": 1, \"payload\": 1}' | line 17: \"id\" must be a string, got 5",
        "'{\"key\": [1], \"time\": 1, \"payload\": 1}' | line 17: \"key\" must be a string, got [1]",
        "'{\"time\": 1, \"payload\": 1, \"attributes\": [1]}' | line 17: \"attributes\" must be an object of strings, got an array",
        "'{\"time\": 1, \"payload\": 1, \"attributes\": {\"a\": 1}}' | line 17: attribute \"a\" must be a string, got 1",
        "'{\"time\": 1, \"payload\": 1, \"error\": true}' | line 17: \"error\" must be a string, got true",
        "'{\"time\": 1, \"paylod\": 1}' | line 17: unknown field \"paylod\" (a line has id, key, time, payload, attributes, error)",
        "'[1, 2]' | line 17: expected a JSON object such as {\"id\": \"e1\", \"key\": \"user-7\", \"time\": 1767225600000, \"payload\": {...}}, got an array",
        "'   ' | line 17: the line is empty; expected a JSON object such as {\"id\": \"e1\", \"key\": \"user-7\", \"time\": 1767225600000, \"payload\": {...}}",
      })
  void rejectsBadLinesNamingTheLineAndTheProblem(String line, String message) {
    assertThatThrownBy(() -> JsonLines.parse(line, 17))
        .isInstanceOf(JsonLinesException.class)
        .hasMessage(message)
        .satisfies(e -> assertThat(((JsonLinesException) e).lineNumber()).isEqualTo(17));
  }

  @Test
  void rejectsMalformedJsonRepeatedFieldsAndTrailingText() {
    assertThatThrownBy(() -> JsonLines.parse("{\"time\": 1, \"payload\": ", 4))
        .isInstanceOf(JsonLinesException.class)
        .hasMessageStartingWith("line 4: not valid JSON: ");
    assertThatThrownBy(() -> JsonLines.parse("{\"time\": 1, \"time\": 2, \"payload\": 1}", 5))
        .hasMessageStartingWith("line 5: not valid JSON: Duplicate field 'time'");
    assertThatThrownBy(() -> JsonLines.parse("{\"time\": 1, \"payload\": 1} {}", 6))
        .hasMessageStartingWith("line 6: not valid JSON: ")
        .hasMessageContaining("column");
  }

  @Test
  void formatsTheDesignShapeWithErrorAndNonJsonPayloads() {
    Event ok =
        Event.newBuilder()
            .setId("e1")
            .setKey(ByteString.copyFromUtf8("user-7"))
            .setEventTime(1_767_225_600_000L)
            .setPayload(ByteString.copyFromUtf8("{ \"count\" :\n 3 }"))
            .putAttributes("src", "web")
            .build();
    assertThat(JsonLines.format(ok))
        .isEqualTo("{\"id\":\"e1\",\"key\":\"user-7\",\"time\":1767225600000,\"payload\":{\"count\":3}}");

    Event dead =
        ok.toBuilder().setPayload(ByteString.copyFromUtf8("{\"a\": ")).putAttributes("error", "malformed JSON payload").build();
    assertThat(JsonLines.format(dead))
        .isEqualTo(
            "{\"id\":\"e1\",\"key\":\"user-7\",\"time\":1767225600000,\"payload\":\"{\\\"a\\\": \","
                + "\"error\":\"malformed JSON payload\"}");

    Event twoValues = ok.toBuilder().setPayload(ByteString.copyFromUtf8("1 2")).build();
    assertThat(JsonLines.format(twoValues)).contains("\"payload\":\"1 2\"");
    Event empty = ok.toBuilder().setPayload(ByteString.EMPTY).build();
    assertThat(JsonLines.format(empty)).contains("\"payload\":\"\"");
  }

  @Test
  void formattedLinesParseBackAndParsedLinesFormatToTheCanonicalLine() {
    String line = "{\"id\":\"e9\",\"key\":\"k\",\"time\":-5,\"payload\":[1,{\"b\":null}],\"error\":\"boom\"}";
    Event e = JsonLines.parse(line, 1);
    assertThat(JsonLines.format(e)).isEqualTo(line);
    assertThat(JsonLines.parse(JsonLines.format(e), 1)).isEqualTo(e);
  }

  @Property
  void everyJsonEventSurvivesARoundTrip(@ForAll("events") Event event) {
    assertThat(JsonLines.parse(JsonLines.format(event), 1)).isEqualTo(event);
  }

  @Provide
  Arbitrary<Event> events() {
    Arbitrary<String> text = Arbitraries.strings().ofMaxLength(12);
    Arbitrary<String> payload =
        Combinators.combine(text, Arbitraries.integers(), Arbitraries.doubles().between(-1e9, 1e9), Arbitraries.of(true, false))
            .as((s, i, d, b) -> {
              ObjectNode o = MAPPER.createObjectNode();
              o.put("s", s).put("i", i).put("d", d).put("b", b).putArray("list").add(s).add(i);
              return o.toString();
            });
    Arbitrary<String> error = Arbitraries.oneOf(Arbitraries.just(""), text.map(s -> "e:" + s));
    return Combinators.combine(text, text, Arbitraries.longs(), payload, error)
        .as((id, key, time, p, err) -> {
          Event.Builder b =
              Event.newBuilder()
                  .setId(id)
                  .setKey(ByteString.copyFromUtf8(key))
                  .setEventTime(time)
                  .setPayload(ByteString.copyFromUtf8(p))
                  .setContentType(JsonLines.CONTENT_TYPE);
          if (!err.isEmpty()) {
            b.putAttributes(JsonLines.ERROR_ATTRIBUTE, err);
          }
          return b.build();
        });
  }
}
