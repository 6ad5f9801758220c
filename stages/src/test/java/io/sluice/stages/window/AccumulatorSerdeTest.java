package io.sluice.stages.window;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.SerdeException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The built-in aggregates' accumulator serdes: an accumulator written and read back gives the same
 * result, with the same JSON types, and takes further values (and merges) as the original does.
 */
class AccumulatorSerdeTest {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** Numbers of every Jackson type, as payloads {"n": ...}, and a few other JSON values. */
  private static final List<JsonNode> NUMBERS = List.of(
      NODES.numberNode((short) 3),
      NODES.numberNode(-7),
      NODES.numberNode(9_000_000_000L),
      NODES.numberNode(new BigInteger("100000000000000000000")),
      NODES.numberNode(2.5f),
      NODES.numberNode(-0.0),
      NODES.numberNode(1.0),
      NODES.numberNode(new BigDecimal("2.50")),
      NODES.numberNode(new BigDecimal("-7.000")));

  private static final List<JsonNode> OTHERS = List.of(
      NODES.textNode("1"), NODES.nullNode(), NODES.booleanNode(true), NODES.booleanNode(false),
      NODES.objectNode().put("a", 1).set("b", NODES.arrayNode().add(2.0).add("x")),
      NODES.binaryNode(new byte[] {1, 2}));

  private static JsonNode payload(JsonNode n) {
    return NODES.objectNode().set("n", n);
  }

  @ParameterizedTest
  @ValueSource(strings = {"sum", "min", "max", "avg", "distinct"})
  void aFieldAggregateRestoredAfterAnyPrefixGoesOnAsTheOriginal(String name) {
    AggregateFunction<JsonNode, Object, Object> f = field(name);
    List<JsonNode> values = name.equals("distinct") ? concat(NUMBERS, OTHERS) : NUMBERS;
    for (int cut = 0; cut <= values.size(); cut++) {
      Object original = f.createAccumulator();
      Object restored = null;
      for (int i = 0; i < values.size(); i++) {
        if (i == cut) {
          restored = roundTrip(f, original);
          assertThat(f.result(restored)).as("%s restored after %d values", name, cut).isEqualTo(f.result(original));
        }
        original = f.add(payload(values.get(i)), original);
        if (restored != null) {
          restored = f.add(payload(values.get(i)), restored);
        }
      }
      if (restored == null) {
        restored = roundTrip(f, original);
      }
      assertThat(json(f.result(restored))).as("%s restored after %d values", name, cut).isEqualTo(json(f.result(original)));
      assertThat(f.result(restored)).isEqualTo(f.result(original));
    }
  }

  @Test
  void minAndMaxComeBackAsWritten() {
    for (JsonNode n : NUMBERS) {
      for (String name : List.of("min", "max")) {
        AggregateFunction<JsonNode, Object, Object> f = field(name);
        Object restored = roundTrip(f, f.add(payload(n), f.createAccumulator()));
        JsonNode result = (JsonNode) f.result(restored);
        assertThat(result.getClass()).isEqualTo(n.getClass());
        assertThat(result).isEqualTo(n);
        assertThat(result.toString()).isEqualTo(n.toString());
      }
    }
    AggregateFunction<JsonNode, Object, Object> min = field("min");
    assertThat(f(min, roundTrip(min, min.createAccumulator()))).isEqualTo("null"); // no value yet
  }

  @Test
  void aRestoredDistinctSetFindsTheSameValueInAnotherForm() throws Exception {
    AggregateFunction<JsonNode, Object, Object> f = field("distinct");
    Object acc = f.createAccumulator();
    for (String v : List.of("5", "\"5\"", "{\"a\": [1, 2.5]}", "123456789012345678901234567890", "0.125")) {
      acc = f.add(MAPPER.readTree("{\"n\": " + v + "}"), acc);
    }
    Object restored = roundTrip(f, acc);
    for (String v : List.of("5.0", "5e0", "\"5\"", "{\"a\": [1.0, 2.50]}", "123456789012345678901234567890", "0.1250")) {
      restored = f.add(MAPPER.readTree("{\"n\": " + v + "}"), restored);
    }
    assertThat(f.result(restored)).isEqualTo(5L);
    // Merging a restored set with a live one (sessions) counts each value once as well.
    Object other = f.add(MAPPER.readTree("{\"n\": 5.00}"), f.createAccumulator());
    assertThat(f.result(f.merge(roundTrip(f, acc), other))).isEqualTo(5L);
  }

  @Test
  void aCountIsEightBytesAndAVersion() {
    @SuppressWarnings("unchecked")
    AggregateFunction<Object, Object, Long> count = (AggregateFunction<Object, Object, Long>) Aggregates.count();
    Object acc = count.createAccumulator();
    for (int i = 0; i < 1000; i++) {
      acc = count.add(null, acc);
    }
    byte[] bytes = count.accumulatorSerde().serialize(acc);
    assertThat(bytes).hasSize(9);
    Object restored = count.accumulatorSerde().deserialize(bytes);
    assertThat(count.result(count.add(null, restored))).isEqualTo(1001L);
    assertThat(count.result(count.merge(restored, count.accumulatorSerde().deserialize(bytes)))).isEqualTo(2001L);
  }

  @Test
  void malformedBytesAreASerdeException() {
    AggregateFunction<JsonNode, Object, Object> sum = field("sum");
    byte[] bytes = sum.accumulatorSerde().serialize(sum.createAccumulator());
    assertThatThrownBy(() -> sum.accumulatorSerde().deserialize(java.util.Arrays.copyOf(bytes, 4)))
        .isInstanceOf(SerdeException.class)
        .hasMessageContaining("sum/avg accumulator");
  }

  // ---------------------------------------------------------------- helpers

  @SuppressWarnings("unchecked") // each aggregate's own accumulators go back into it
  private static AggregateFunction<JsonNode, Object, Object> field(String name) {
    AggregateFunction<JsonNode, ?, ?> f = switch (name) {
      case "sum" -> Aggregates.sum("$.n");
      case "min" -> Aggregates.min("$.n");
      case "max" -> Aggregates.max("$.n");
      case "avg" -> Aggregates.avg("$.n");
      default -> Aggregates.distinct("$.n");
    };
    return (AggregateFunction<JsonNode, Object, Object>) f;
  }

  private static Object roundTrip(AggregateFunction<JsonNode, Object, Object> f, Object acc) {
    return f.accumulatorSerde().deserialize(f.accumulatorSerde().serialize(acc));
  }

  private static String f(AggregateFunction<JsonNode, Object, Object> f, Object acc) {
    return json(f.result(acc));
  }

  private static String json(Object result) {
    return MAPPER.valueToTree(result).toString();
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> all = new java.util.ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
