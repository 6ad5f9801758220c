package io.sluice.stages.window;

import static io.sluice.stages.window.WindowTestKit.send;
import static io.sluice.stages.window.WindowTestKit.window;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.runtime.api.AggregateFunction;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AggregatesTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** The result of one tumbling window over these payloads, as JSON text. */
  private static String aggregate(String aggregate, String resultField, String... payloads) {
    try (var d = window("{window: {tumbling: '1m'}, aggregate: " + aggregate + "}")) {
      for (int i = 0; i < payloads.length; i++) {
        send(d, "e" + i, "k", i, payloads[i]);
      }
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(d.readDeadLetters()).isEmpty();
      JsonNode result = d.readOutput().value();
      assertThat(d.isOutputEmpty()).isTrue();
      return result.get(resultField).toString();
    }
  }

  @ParameterizedTest(name = "{0} of {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "sum      | 1;2;3                                   | 6",
        "sum      | 1;2.5                                   | 3.5",
        "sum      | -4;4                                    | 0",
        "sum      | 9223372036854775807;1                   | 9.223372036854776E18",
        "sum      | 100000000000000000000;1                 | 1.0E20",
        "min      | 5;2.5;3                                 | 2.5",
        "min      | 3;-7;-7.0                               | -7",
        "max      | 5;2.5;3                                 | 5",
        "max      | 9223372036854775807;9223372036854775806 | 9223372036854775807",
        "max      | 1;100000000000000000000                 | 100000000000000000000",
        "avg      | 5;2.5;3.5                               | 3.6666666666666665",
        "avg      | 2;4                                     | 3.0",
        "distinct | 1;1.0;1e0;2                             | 2",
        "distinct | \"1\";1;null;true;\"1\"                   | 4",
        "distinct | {\"a\":1,\"b\":[2]};{\"b\":[2.0],\"a\":1};{\"a\":2} | 2",
        "distinct | 0;-0.0;0.0                              | 1",
      })
  void computesFieldAggregates(String aggregate, String values, String expected) {
    String[] payloads = Arrays.stream(values.split(";")).map(v -> "{\"n\": " + v + "}").toArray(String[]::new);
    assertThat(aggregate("{" + aggregate + ": '$.n'}", aggregate, payloads)).isEqualTo(expected);
  }

  @Test
  void countAndDistinctAreIntegersSumOfIntegersToo() throws Exception {
    assertThat(aggregate("'count'", "count", "a", "b", "c")).isEqualTo("3");
    assertThat(json(aggregate("{distinct: '$.n'}", "distinct", "{\"n\": 1.5}")).isIntegralNumber()).isTrue();
    assertThat(json(aggregate("{sum: '$.n'}", "sum", "{\"n\": 1}", "{\"n\": 2}")).isIntegralNumber()).isTrue();
    assertThat(json(aggregate("{avg: '$.n'}", "avg", "{\"n\": 1}")).isDouble()).isTrue();
  }

  @Test
  void distinctCountsNullButNotAMissingField() {
    try (var d = window("{window: {tumbling: '1m'}, aggregate: {distinct: '$.u'}}")) {
      send(d, "e1", "k", 1, "{\"u\": null}");
      send(d, "e2", "k", 2, "{}");
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(d.readOutput().value().get("distinct").asLong()).isEqualTo(1);
      assertThat(d.readDeadLetters()).singleElement()
          .satisfies(l -> assertThat(l.reason()).isEqualTo("window per-minute: $.u is missing; distinct needs a value there"));
    }
  }

  @Test
  void mergeCombinesAccumulatorsAsAddingAllValuesWould() throws Exception {
    List<JsonNode> values = List.of(json("{\"n\": 3}"), json("{\"n\": 1.5}"), json("{\"n\": 3}"), json("{\"n\": -2}"));
    for (AggregateFunction<JsonNode, ?, ?> f :
        List.of(Aggregates.sum("$.n"), Aggregates.min("$.n"), Aggregates.max("$.n"), Aggregates.avg("$.n"),
            Aggregates.distinct("$.n"))) {
      assertThat(String.valueOf(mergedInHalves(f, values))).as(f.name()).isEqualTo(String.valueOf(allAtOnce(f, values)));
    }
  }

  private static <A, R> R allAtOnce(AggregateFunction<JsonNode, A, R> f, List<JsonNode> values) {
    A acc = f.createAccumulator();
    for (JsonNode v : values) {
      acc = f.add(v, acc);
    }
    return f.result(acc);
  }

  private static <A, R> R mergedInHalves(AggregateFunction<JsonNode, A, R> f, List<JsonNode> values) {
    A left = f.createAccumulator();
    A right = f.createAccumulator();
    for (int i = 0; i < values.size(); i++) {
      if (i % 2 == 0) {
        left = f.add(values.get(i), left);
      } else {
        right = f.add(values.get(i), right);
      }
    }
    return f.result(f.merge(left, right));
  }

  private static JsonNode json(String text) throws Exception {
    return MAPPER.readTree(text);
  }
}
