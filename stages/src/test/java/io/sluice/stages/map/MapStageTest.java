package io.sluice.stages.map;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MapStageTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String CLICK =
      "{\"user\": {\"id\": \"u7\", \"n\": 7}, \"price\": 3.5, \"ts\": \"2026-01-01T00:00:01Z\", \"ms\": 1767225602000}";

  private static OperatorTestDriver<String, JsonNode, String, JsonNode> map(String settings) {
    return OperatorTestDriver.forStage(new MapStageFactory(), config("m", settings));
  }

  private static JsonNode json(String s) throws Exception {
    return MAPPER.readTree(s);
  }

  @Test
  void selectBuildsANewObjectWithNullForMissingPaths() throws Exception {
    try (var driver = map("{select: {user: '$.user.id', amount: '$.price', 'user.n': '$.user.n', gone: '$.nope'}}")) {
      driver.pipeInput(new Record<>("e1", "k", json(CLICK), 5, Map.of("h", "v"), null));
      Record<String, JsonNode> out = driver.readOutput();
      assertThat(out.value()).isEqualTo(json("{\"user\": \"u7\", \"amount\": 3.5, \"user.n\": 7, \"gone\": null}"));
      assertThat(out.value().toString()).startsWith("{\"user\":\"u7\",\"amount\":3.5,"); // field order as written
      assertThat(out.id()).isEqualTo("e1");
      assertThat(out.key()).isEqualTo("k");
      assertThat(out.timestamp()).isEqualTo(5);
      assertThat(out.attributes()).containsEntry("h", "v");
    }
  }

  @Test
  void setAddsAndReplacesTopLevelFieldsWithoutTouchingTheInput() throws Exception {
    try (var driver = map("{set: {price: 0, source: 'web', tags: ['a']}}")) {
      JsonNode in = json(CLICK);
      driver.pipeInput("k", in, 1);
      JsonNode out = driver.readOutput().value();
      assertThat(out.get("price").asInt()).isZero();
      assertThat(out.get("source").asText()).isEqualTo("web");
      assertThat(out.get("tags")).isEqualTo(json("[\"a\"]"));
      assertThat(out.get("user")).isEqualTo(json("{\"id\": \"u7\", \"n\": 7}"));
    }
    try (var driver = map("{select: {u: '$.user.id'}, set: {v: 2}}")) {
      driver.pipeInput("k", json(CLICK), 1);
      assertThat(driver.readOutput().value()).isEqualTo(json("{\"u\": \"u7\", \"v\": 2}"));
    }
  }

  @Test
  void keyReKeysFromTheFieldsText() throws Exception {
    try (var driver = map("{key: '$.user.id'}")) {
      driver.pipeRawInput(utf8("old"), utf8(CLICK), 1);
      var out = driver.readOutput();
      assertThat(out.key()).isEqualTo("u7");
      assertThat(out.value()).isEqualTo(json(CLICK));
    }
    try (var driver = map("{key: '$.user.n'}")) {
      driver.pipeInput("old", json(CLICK), 1);
      assertThat(driver.readOutput().key()).isEqualTo("7");
    }
  }

  @Test
  void aMissingOrStructuredKeyFieldIsDeadLetteredNamingThePath() throws Exception {
    try (var driver = map("{key: '$.user.id'}")) {
      driver.pipeRawInput(utf8("old"), utf8("{\"user\": {}}"), 1);
      driver.pipeRawInput(utf8("old"), utf8("{\"user\": {\"id\": null}}"), 2);
      driver.pipeRawInput(utf8("old"), utf8("{\"user\": {\"id\": {\"x\": 1}}}"), 3);
      driver.pipeRawInput(utf8("old"), utf8("not json"), 4);

      var dead = driver.readDeadLetters();
      assertThat(dead).extracting(DeadLetter::reason).containsExactly(
          "map: key field $.user.id is missing",
          "map: key field $.user.id is missing",
          "map: key field $.user.id holds an object; a key must be a string, number or boolean",
          dead.get(3).reason());
      assertThat(dead.get(3).reason()).startsWith("malformed JSON payload");
      assertThat(dead.get(0).payloadAsString()).isEqualTo("{\"user\": {}}");
      assertThat(dead.get(0).keyAsString()).isEqualTo("old");
      assertThat(driver.isOutputEmpty()).isTrue();
    }
  }

  @Test
  void timestampTakesEpochMillisOrIsoTextAndDeadLettersTheRest() throws Exception {
    try (var iso = map("{timestamp: '$.ts'}"); var ms = map("{timestamp: '$.ms'}")) {
      iso.pipeInput("k", json(CLICK), 0);
      ms.pipeInput("k", json(CLICK), 0);
      assertThat(iso.readOutput().timestamp()).isEqualTo(1_767_225_601_000L);
      assertThat(ms.readOutput().timestamp()).isEqualTo(1_767_225_602_000L);

      iso.pipeInput("k", json("{\"ts\": \"soon\"}"), 0);
      iso.pipeInput("k", json("{}"), 0);
      assertThat(iso.readDeadLetters()).extracting(DeadLetter::reason).containsExactly(
          "map: timestamp field $.ts must be epoch milliseconds or an ISO-8601 instant, got \"soon\"",
          "map: timestamp field $.ts is missing");
    }
  }

  @Test
  void allSettingsTogether() throws Exception {
    try (var driver = map("{select: {amount: '$.price'}, set: {currency: 'EUR'}, key: '$.user.id', timestamp: '$.ms'}")) {
      driver.pipeInput(new Record<>("e5", "old", json(CLICK), 0, Map.of(), null));
      assertThat(driver.readOutput())
          .isEqualTo(new Record<>("e5", "u7", json("{\"amount\": 3.5, \"currency\": \"EUR\"}"), 1_767_225_602_000L, Map.of(), null));
    }
  }

  @Test
  void setOnAPayloadThatIsNotAnObjectIsDeadLettered() {
    try (var driver = map("{set: {a: 1}}")) {
      driver.pipeRawInput(utf8("k"), utf8("[1, 2]"), 1);
      assertThat(driver.readDeadLetters()).extracting(DeadLetter::reason)
          .containsExactly("map: set needs a JSON object payload, got an array");
    }
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "{type: 'map'}                        | ''          | at least one of",
        "{select: 'user'}                     | select      | must map output fields",
        "{select: {}}                         | select      | must map output fields",
        "{select: {user: 5}}                  | select.user | must be a JSON path",
        "{select: {user: 'user.id'}}          | select.user | must start with $",
        "{set: []}                            | set         | must map field names",
        "{key: 'user.id'}                     | key         | must start with $",
        "{key: {a: 1}}                        | key         | must be a string",
        "{timestamp: '$.a[0'}                 | timestamp   | unclosed [",
      })
  void badSettingsAreRejectedNamingTheKey(String settings, String key, String messagePart) {
    assertThatThrownBy(() -> new MapStageFactory().create(config("m", settings)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(messagePart)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key.equals("''") ? "" : key));
  }
}
