package io.sluice.stages.window;

import static io.sluice.stages.StageConfigs.utf8;
import static io.sluice.stages.window.WindowTestKit.results;
import static io.sluice.stages.window.WindowTestKit.send;
import static io.sluice.stages.window.WindowTestKit.window;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** User aggregates ({@code aggregate: {java: ...}}) and the operator used from a Java stage. */
class JavaAggregatesTest {
  /** The spread (max - min) of {@code $.price}, with a result that is an object. */
  public static final class Spread implements AggregateFunction<JsonNode, double[], Map<String, Double>> {
    @Override
    public double[] createAccumulator() {
      return new double[] {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
    }

    @Override
    public double[] add(JsonNode value, double[] acc) {
      JsonNode price = value.path("price");
      if (!price.isNumber()) {
        throw new IllegalArgumentException("spread needs $.price to be a number, got " + price);
      }
      acc[0] = Math.min(acc[0], price.doubleValue());
      acc[1] = Math.max(acc[1], price.doubleValue());
      return acc;
    }

    @Override
    public double[] merge(double[] a, double[] b) {
      return new double[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])};
    }

    @Override
    public Map<String, Double> result(double[] acc) {
      return Map.of("spread", acc[1] - acc[0]);
    }

    @Override
    public String name() {
      return "price";
    }
  }

  @Test
  void aJavaAggregateIsLoadedByNameAndItsResultWrittenUnderItsName() {
    try (var d = window("{window: {session: {gap: '10s'}}, aggregate: {java: '" + Spread.class.getName() + "'}}")) {
      send(d, "e1", "k", 0, "{\"price\": 3}");
      send(d, "e2", "k", 20_000, "{\"price\": 10}");
      send(d, "bad", "k", 5_000, "{}");
      send(d, "e3", "k", 10_000, "{\"price\": 1.5}"); // merges both sessions: merge() is used
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@29999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":30000,\"price\":{\"spread\":8.5},\"timing\":\"on_time\"}");
      assertThat(d.readDeadLetters()).singleElement()
          .satisfies(l -> assertThat(l.reason()).isEqualTo("window per-minute: spread needs $.price to be a number, got "));
    }
  }

  private static JsonNode json(String text) {
    return Serdes.json().deserialize(utf8(text));
  }

  @Test
  void theOperatorRunsInAJavaStageOfItsOwn() {
    OutputTag<String, JsonNode> late = WindowOperator.lateOutput(Serdes.json());
    StageDefinition<String, JsonNode, String, JsonNode> definition =
        new StageDefinition<>(
            Serdes.string(),
            Serdes.json(),
            Serdes.string(),
            Serdes.json(),
            () -> new WindowOperator<>(
                SlidingWindows.of(Duration.ofSeconds(2), Duration.ofSeconds(1)),
                Aggregates.max("$.t"),
                Duration.ZERO,
                EarlyFiring.everyCount(2),
                late),
            List.of(late));
    try (var d = new OperatorTestDriver<>(definition, "temps")) {
      d.pipeInput("room", json("{\"t\": 20}"), 1_500);
      d.pipeInput("room", json("{\"t\": 22.5}"), 1_700);
      d.advanceWatermark(1_999);
      d.pipeInput("room", json("{\"t\": 30}"), 1_000);
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(d.readOutputs()).extracting(WindowTestKit::describe)
          .containsExactly(
              "room@2999 temps/room/1000/0 {\"window_start\":1000,\"window_end\":3000,\"max\":22.5,\"timing\":\"early\"}",
              "room@1999 temps/room/0/0 {\"window_start\":0,\"window_end\":2000,\"max\":22.5,\"timing\":\"early\"}",
              "room@1999 temps/room/0/1 {\"window_start\":0,\"window_end\":2000,\"max\":22.5,\"timing\":\"on_time\"}",
              "room@2999 temps/room/1000/1 {\"window_start\":1000,\"window_end\":3000,\"max\":30,\"timing\":\"on_time\"}");
      assertThat(d.readSideOutput(late)).isEmpty();
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }
}
