package io.sluice.stages.filter;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FilterStageTest {
  private static OperatorTestDriver<String, JsonNode, String, JsonNode> filter(String settings) {
    return OperatorTestDriver.forStage(new FilterStageFactory(), config("buys", settings));
  }

  /** The payloads of {@code payloads} that pass {@code where}, in order. */
  private static List<String> passing(String where, String... payloads) {
    try (var driver = filter("{type: 'filter', where: " + where + "}")) {
      long t = 0;
      for (String p : payloads) {
        driver.pipeRawInput(utf8("k"), utf8(p), t++);
      }
      assertThat(driver.readDeadLetters()).isEmpty();
      return driver.readOutputEvents().stream().map(e -> e.getPayload().toStringUtf8()).toList();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "{field: '$.action', equals: 'purchase'}        | {\"action\":\"purchase\"}",
        "{field: '$.action', notEquals: 'purchase'}     | {\"action\":\"view\"};{\"n\":5};{\"n\":5.0};{\"n\":9};{\"n\":-1};{\"user\":{\"id\":\"a\"}};{\"user\":{\"id\":\"b\"}};{\"coupon\":null};{\"tags\":[\"a\",\"x\"]};{}",
        "{field: '$.n', equals: 5}                      | {\"n\":5};{\"n\":5.0}",
        "{field: '$.user.id', in: ['a', 'c']}           | {\"user\":{\"id\":\"a\"}}",
        "{field: '$.coupon', exists: true}              | {\"coupon\":null}",
        "{field: '$.coupon', exists: false}             | {\"action\":\"purchase\"};{\"action\":\"view\"};{\"n\":5};{\"n\":5.0};{\"n\":9};{\"n\":-1};{\"user\":{\"id\":\"a\"}};{\"user\":{\"id\":\"b\"}};{\"tags\":[\"a\",\"x\"]};{}",
        "{field: '$.n', gt: 4}                          | {\"n\":5};{\"n\":5.0};{\"n\":9}",
        "{field: '$.n', gte: 5}                         | {\"n\":5};{\"n\":5.0};{\"n\":9}",
        "{field: '$.n', lt: 5}                          | {\"n\":-1}",
        "{field: '$.n', lte: 5}                         | {\"n\":5};{\"n\":5.0};{\"n\":-1}",
        "{field: '$.n', gt: 0, lt: 9}                   | {\"n\":5};{\"n\":5.0}",
        "[{field: '$.n', gte: 0}, {field: '$.n', notEquals: 9}] | {\"n\":5};{\"n\":5.0}",
        "{field: '$.tags[1]', equals: 'x'}              | {\"tags\":[\"a\",\"x\"]}",
      })
  void keepsExactlyTheMatchingEvents(String where, String expected) {
    List<String> payloads =
        List.of(
            "{\"action\":\"purchase\"}",
            "{\"action\":\"view\"}",
            "{\"n\":5}",
            "{\"n\":5.0}",
            "{\"n\":9}",
            "{\"n\":-1}",
            "{\"user\":{\"id\":\"a\"}}",
            "{\"user\":{\"id\":\"b\"}}",
            "{\"coupon\":null}",
            "{\"tags\":[\"a\",\"x\"]}",
            "{}");
    assertThat(passing(where, payloads.toArray(String[]::new))).containsExactly(expected.split(";"));
  }

  @Test
  void forwardsTheInputRecordItselfSoTheOriginalBytesPassUnchanged() {
    try (var driver = filter("{where: {field: '$.action', equals: 'purchase'}}")) {
      String spaced = "{ \"action\" : \"purchase\",\n  \"price\": 1.50 }";
      driver.pipeRawInput(utf8("user-7"), utf8(spaced), 10);
      var out = driver.readOutputEvents();
      assertThat(out).singleElement().satisfies(e -> {
        assertThat(e.getPayload().toStringUtf8()).isEqualTo(spaced);
        assertThat(e.getKey().toStringUtf8()).isEqualTo("user-7");
        assertThat(e.getEventTime()).isEqualTo(10);
      });
    }
  }

  @Test
  void typedRecordsKeepIdAndAttributes() {
    try (var driver = filter("{where: {field: '$.action', equals: 'purchase'}}")) {
      JsonNode v = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("action", "purchase");
      var in = new Record<>("e1", "k", v, 3, java.util.Map.of("h", "1"), null);
      driver.pipeInput(in);
      assertThat(driver.readOutput()).isEqualTo(in);
    }
  }

  @Test
  void malformedJsonAndNonNumbersForNumericOperatorsAreDeadLettered() {
    try (var driver = filter("{where: {field: '$.price', gt: 10}}")) {
      driver.pipeRawInput(utf8("k"), utf8("{\"price\": "), 1);
      driver.pipeRawInput(utf8("k"), utf8("{\"price\": \"cheap\"}"), 2);
      driver.pipeRawInput(utf8("k"), utf8("{\"price\": 11}"), 3);
      driver.pipeRawInput(utf8("k"), utf8("{\"price\": null}"), 4);

      List<DeadLetter> dead = driver.readDeadLetters();
      assertThat(dead).hasSize(2);
      assertThat(dead.get(0).reason()).startsWith("malformed JSON payload");
      assertThat(dead.get(0).payloadAsString()).isEqualTo("{\"price\": ");
      assertThat(dead.get(1).reason()).isEqualTo("filter: $.price is \"cheap\", not a number, so 'gt: 10' cannot be applied");
      assertThat(driver.readOutputEvents()).extracting(e -> e.getEventTime()).containsExactly(3L);
    }
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "{type: 'filter'}                                      | where          | 'where' is required",
        "{where: []}                                           | where          | empty list",
        "{where: 'purchase'}                                   | where          | must be a condition",
        "{where: {equals: 'x'}}                                | where.field    | 'where.field' is required",
        "{where: {field: 'user.id', equals: 'x'}}              | where.field    | must start with $",
        "{where: {field: '$.a..b', equals: 'x'}}               | where.field    | empty field name",
        "{where: {field: '$.a'}}                               | where          | no operator",
        "{where: {field: '$.a', eqals: 'x'}}                   | where.eqals    | unknown operator 'eqals'",
        "{where: {field: '$.a', in: 'x'}}                      | where.in       | non-empty list",
        "{where: {field: '$.a', in: []}}                       | where.in       | non-empty list",
        "{where: {field: '$.a', exists: 'yes'}}                | where.exists   | true or false",
        "{where: {field: '$.a', gt: '10'}}                     | where.gt       | must be a number",
        "{where: [{field: '$.a', equals: 1}, {field: '$.b'}]}  | where.1        | no operator",
        "{where: [{field: '$.a', equals: 1}, {field: 'b', lt: 1}]} | where.1.field | must start with $",
      })
  void badSettingsAreRejectedNamingTheKey(String settings, String key, String messagePart) {
    assertThatThrownBy(() -> new FilterStageFactory().create(config("buys", settings)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(messagePart)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key));
  }
}
