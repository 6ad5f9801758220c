package io.sluice.stages.window;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.window.WindowTestKit.STAGE;
import static io.sluice.stages.window.WindowTestKit.lateIds;
import static io.sluice.stages.window.WindowTestKit.results;
import static io.sluice.stages.window.WindowTestKit.send;
import static io.sluice.stages.window.WindowTestKit.window;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WindowStageTest {
  @Test
  void tumblingCountFiresOnTimeWhenTheWatermarkReachesTheEndWithoutParsingThePayload() {
    try (var d = window("{window: {tumbling: '1m'}, aggregate: 'count'}")) {
      send(d, "e1", "a", 1_000, "not json at all");
      send(d, "e2", "b", 30_000, "");
      send(d, "e3", "a", 59_999, "{\"x\": 1}");
      send(d, "e4", "a", 60_000, "{}");
      d.advanceWatermark(59_998);
      assertThat(results(d)).isEmpty();

      d.advanceWatermark(59_999);
      assertThat(results(d))
          .containsExactly(
              "a@59999 per-minute/a/0/0 {\"window_start\":0,\"window_end\":60000,\"count\":2,\"timing\":\"on_time\"}",
              "b@59999 per-minute/b/0/0 {\"window_start\":0,\"window_end\":60000,\"count\":1,\"timing\":\"on_time\"}");

      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "a@119999 per-minute/a/60000/0 {\"window_start\":60000,\"window_end\":120000,\"count\":1,\"timing\":\"on_time\"}");
      assertThat(d.readDeadLetters()).isEmpty();
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void resultsAreJsonEventsWithDeterministicIdsSoAReplayMakesTheSameOnes() {
    List<List<Event>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      try (var d = window("{window: {tumbling: '10s'}, aggregate: 'count', earlyFiring: {count: 1}}")) {
        send(d, "e1", "k", 1_000, "x");
        send(d, "e2", "k", 2_000, "x");
        d.advanceWatermark(Long.MAX_VALUE);
        runs.add(d.readOutputEvents());
      }
    }
    assertThat(runs.get(0)).extracting(Event::getId)
        .containsExactly("per-minute/k/0/0", "per-minute/k/0/1", "per-minute/k/0/2");
    assertThat(runs.get(1)).isEqualTo(runs.get(0));
    assertThat(runs.get(0).get(0).getContentType()).isEqualTo("application/json");
    assertThat(runs.get(0).get(0).getKey().toStringUtf8()).isEqualTo("k");
    assertThat(runs.get(0).get(0).getEventTime()).isEqualTo(9_999);
  }

  @Test
  void slidingWindowsEachGetTheEventsTheyContain() {
    try (var d = window("{window: {sliding: {size: '10s', slide: '5s'}}, aggregate: {sum: '$.price'}}")) {
      send(d, "e1", "k", 7_000, "{\"price\": 2}");
      send(d, "e2", "k", 12_000, "{\"price\": 3.5}");
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@9999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":10000,\"sum\":2,\"timing\":\"on_time\"}",
              "k@14999 per-minute/k/5000/0 {\"window_start\":5000,\"window_end\":15000,\"sum\":5.5,\"timing\":\"on_time\"}",
              "k@19999 per-minute/k/10000/0 {\"window_start\":10000,\"window_end\":20000,\"sum\":3.5,\"timing\":\"on_time\"}");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void sessionsMergeWhenAnEventBridgesThemAndTheirAccumulatorsMerge() {
    try (var d = window("{window: {session: {gap: '10s'}}, aggregate: {distinct: '$.u'}}")) {
      send(d, "e1", "k", 0, "{\"u\": \"x\"}");
      send(d, "e2", "k", 5_000, "{\"u\": \"y\"}"); // [0, 15000)
      send(d, "e3", "k", 30_000, "{\"u\": \"x\"}"); // [30000, 40000), apart
      send(d, "e4", "k", 20_000, "{\"u\": \"z\"}"); // [20000, 30000) touches it: [20000, 40000)
      send(d, "o1", "other", 12_000, "{\"u\": \"q\"}"); // another key never merges
      d.advanceWatermark(14_999); // the first session's end
      assertThat(results(d))
          .containsExactly(
              "k@14999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":15000,\"distinct\":2,\"timing\":\"on_time\"}");
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "other@21999 per-minute/other/12000/0 {\"window_start\":12000,\"window_end\":22000,\"distinct\":1,\"timing\":\"on_time\"}",
              "k@39999 per-minute/k/20000/0 {\"window_start\":20000,\"window_end\":40000,\"distinct\":2,\"timing\":\"on_time\"}");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void aBridgingEventMergesTwoSessionsAndMovesTheirTimers() {
    try (var d = window("{window: {session: {gap: '10s'}}, aggregate: 'count', allowedLateness: '1s'}")) {
      send(d, "e1", "k", 0, ""); // [0, 10000)
      send(d, "e2", "k", 12_000, ""); // [12000, 22000)
      send(d, "e3", "k", 24_000, ""); // [24000, 34000)
      send(d, "e4", "k", 11_000, ""); // extends the second back: [11000, 22000)
      // Three sessions, each with an on-time and a cleanup timer.
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(6);
      send(d, "e5", "k", 10_000, ""); // [10000, 20000) touches the first and overlaps the second
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(4);
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@21999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":22000,\"count\":4,\"timing\":\"on_time\"}",
              "k@33999 per-minute/k/24000/0 {\"window_start\":24000,\"window_end\":34000,\"count\":1,\"timing\":\"on_time\"}");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void lateEventsWithinTheLatenessUpdateTheWindowAndTheRestGoToTheLateOutputUnchanged() {
    try (var d = window("{window: {tumbling: '10s'}, aggregate: 'count', allowedLateness: '5s'}")) {
      send(d, "e1", "a", 1_000, "x");
      d.advanceWatermark(9_999);
      assertThat(results(d))
          .containsExactly(
              "a@9999 per-minute/a/0/0 {\"window_start\":0,\"window_end\":10000,\"count\":1,\"timing\":\"on_time\"}");
      send(d, "e2", "a", 2_000, "x");
      d.advanceWatermark(14_998);
      send(d, "e3", "a", 3_000, "x");
      assertThat(results(d))
          .containsExactly(
              "a@9999 per-minute/a/0/1 {\"window_start\":0,\"window_end\":10000,\"count\":2,\"timing\":\"late\"}",
              "a@9999 per-minute/a/0/2 {\"window_start\":0,\"window_end\":10000,\"count\":3,\"timing\":\"late\"}");
      assertThat(lateIds(d)).isEmpty();

      d.advanceWatermark(14_999); // end - 1 + lateness: the window's state goes
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
      send(d, "e4", "a", 4_000, "not \"json\"");
      send(d, "e5", "b", 9_999, "y");
      send(d, "e6", "a", 10_000, "z"); // the next window: on time
      assertThat(results(d)).isEmpty();
      List<Event> late = d.readSideOutputEvents(WindowOperator.LATE_OUTPUT);
      assertThat(late).extracting(Event::getId).containsExactly("e4", "e5");
      assertThat(late.get(0).getPayload().toStringUtf8()).isEqualTo("not \"json\"");
      assertThat(late.get(0).getKey().toStringUtf8()).isEqualTo("a");
      assertThat(late.get(0).getEventTime()).isEqualTo(4_000);
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d)).singleElement().asString().contains("per-minute/a/10000/0", "\"count\":1");
    }
  }

  @Test
  void aWindowThatOnlyGetsEventsAfterItsEndFiresLateAtOnceAndNeverOnTime() {
    try (var d = window("{window: {tumbling: '10s'}, aggregate: 'count', allowedLateness: '10s', earlyFiring: {count: 1}}")) {
      d.advanceWatermark(12_000);
      send(d, "e1", "k", 5_000, "");
      assertThat(results(d))
          .containsExactly(
              "k@9999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":10000,\"count\":1,\"timing\":\"late\"}");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(1); // cleanup only
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d)).isEmpty();
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void aSlidingEventLateForSomeWindowsJoinsTheOthersAndGoesToTheLateOutputOnlyWhenLateForAll() {
    try (var d = window("{window: {sliding: {size: '10s', slide: '5s'}}, aggregate: 'count'}")) {
      d.advanceWatermark(9_999);
      send(d, "e1", "k", 7_000, ""); // [0,10000) is late, [5000,15000) is not
      send(d, "e2", "k", 4_000, ""); // [-5000,5000) and [0,10000): both late
      assertThat(lateIds(d)).containsExactly("e2");
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@14999 per-minute/k/5000/0 {\"window_start\":5000,\"window_end\":15000,\"count\":1,\"timing\":\"on_time\"}");
    }
  }

  @Test
  void aSessionLateOnItsOwnIsKeptWhenItMergesIntoALiveOne() {
    // As in Flink: lateness is judged on the merged window.
    try (var d = window("{window: {session: {gap: '10s'}}, aggregate: 'count'}")) {
      send(d, "e1", "k", 20_000, ""); // [20000, 30000)
      d.advanceWatermark(19_999);
      send(d, "e2", "k", 9_000, ""); // [9000, 19000): late alone, apart from the live session
      send(d, "e3", "k", 12_000, ""); // [12000, 22000): late alone, merges into [12000, 30000)
      assertThat(lateIds(d)).containsExactly("e2");
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@29999 per-minute/k/12000/0 {\"window_start\":12000,\"window_end\":30000,\"count\":2,\"timing\":\"on_time\"}");
    }
  }

  @Test
  void aSessionThatComesBackToTheStartOfADroppedOneContinuesItsIds() {
    try (var d = window("{window: {session: {gap: '10ms'}}, aggregate: 'count'}")) {
      send(d, "e1", "k", 0, ""); // [0, 10)
      d.advanceWatermark(9); // fires k/0/0 and drops it
      send(d, "e2", "k", 5, ""); // [5, 15): not late
      send(d, "e3", "k", 0, ""); // [0, 10) is late alone, but merges: [0, 15)
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@9 per-minute/k/0/0 {\"window_start\":0,\"window_end\":10,\"count\":1,\"timing\":\"on_time\"}",
              "k@14 per-minute/k/0/1 {\"window_start\":0,\"window_end\":15,\"count\":2,\"timing\":\"on_time\"}");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  /** The ids of the results, asserting that none repeats. */
  private static List<String> uniqueIds(OperatorTestDriver<String, Object, String, JsonNode> d) {
    List<String> ids = d.readOutputs().stream().map(r -> r.id()).toList();
    assertThat(ids).doesNotHaveDuplicates();
    return ids;
  }

  @Test
  void aSessionMovedBackToWhereAMergedAwaySessionBeganDoesNotRepeatItsIds() {
    try (var d = window("{window: {session: {gap: '10ms'}}, aggregate: 'count', earlyFiring: {count: 1}}")) {
      send(d, "a", "k", 0, ""); // A = [0, 10): k/0/0
      for (int i = 0; i < 5; i++) {
        send(d, "b" + i, "k", 20 + i, ""); // B = [20, 34): k/20/0 .. k/20/4
      }
      send(d, "bridge", "k", 10, ""); // [0, 34): A's ids go on, B is merged away
      d.advanceWatermark(33); // fires on time and drops it
      send(d, "c", "k", 25, ""); // [25, 35): not late
      send(d, "back", "k", 20, ""); // late alone, joins [25, 35): [20, 35) begins where B began
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(uniqueIds(d)).containsExactly(
          "per-minute/k/0/0",
          "per-minute/k/20/0", "per-minute/k/20/1", "per-minute/k/20/2", "per-minute/k/20/3", "per-minute/k/20/4",
          "per-minute/k/0/1", "per-minute/k/0/2",
          "per-minute/k/25/5", "per-minute/k/20/6", "per-minute/k/20/7");
    }
  }

  @Test
  void aSessionMovedBackToWhereAnExtendedSessionBeganDoesNotRepeatItsIds() {
    try (var d = window("{window: {session: {gap: '10ms'}}, aggregate: 'count', earlyFiring: {count: 1}}")) {
      for (int i = 0; i < 5; i++) {
        send(d, "a" + i, "k", 20, ""); // A = [20, 30): k/20/0 .. k/20/4
      }
      send(d, "left", "k", 15, ""); // [15, 30): a new start, A's ids stay taken
      d.advanceWatermark(29);
      send(d, "c", "k", 25, ""); // [25, 35)
      send(d, "back", "k", 20, ""); // late alone, joins it: [20, 35)
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(uniqueIds(d)).containsExactly(
          "per-minute/k/20/0", "per-minute/k/20/1", "per-minute/k/20/2", "per-minute/k/20/3", "per-minute/k/20/4",
          "per-minute/k/15/5", "per-minute/k/15/6",
          "per-minute/k/25/7", "per-minute/k/20/8", "per-minute/k/20/9");
    }
  }

  @Test
  void earlyFiringByCountEmitsEveryNEventsUntilTheOnTimeFiring() {
    try (var d = window("{window: {tumbling: '10s'}, aggregate: 'count', earlyFiring: {count: 2}, allowedLateness: '5s'}")) {
      for (int i = 1; i <= 5; i++) {
        send(d, "e" + i, "k", i * 1_000, "");
      }
      assertThat(results(d))
          .containsExactly(
              "k@9999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":10000,\"count\":2,\"timing\":\"early\"}",
              "k@9999 per-minute/k/0/1 {\"window_start\":0,\"window_end\":10000,\"count\":4,\"timing\":\"early\"}");
      d.advanceWatermark(9_999);
      assertThat(results(d))
          .containsExactly(
              "k@9999 per-minute/k/0/2 {\"window_start\":0,\"window_end\":10000,\"count\":5,\"timing\":\"on_time\"}");
      send(d, "e6", "k", 6_000, "");
      send(d, "e7", "k", 7_000, "");
      assertThat(results(d))
          .extracting(s -> s.substring(s.indexOf("\"count\"")))
          .containsExactly("\"count\":6,\"timing\":\"late\"}", "\"count\":7,\"timing\":\"late\"}");
    }
  }

  @Test
  void earlyFiringByIntervalEmitsChangedWindowsOnProcessingTimeTicks() {
    try (var d = window("{window: {tumbling: '10s'}, aggregate: 'count', earlyFiring: {interval: '5s'}, allowedLateness: '5s'}")) {
      send(d, "a1", "a", 1_000, "");
      send(d, "b1", "b", 1_000, "");
      send(d, "a2", "a", 2_000, "");
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isEqualTo(2); // one per key
      d.advanceWallClock(Duration.ofMillis(4_999)); // ticks are aligned to the epoch, like the clock's start
      assertThat(results(d)).isEmpty();
      d.advanceWallClock(Duration.ofMillis(1));
      assertThat(results(d))
          .containsExactly(
              "a@9999 per-minute/a/0/0 {\"window_start\":0,\"window_end\":10000,\"count\":2,\"timing\":\"early\"}",
              "b@9999 per-minute/b/0/0 {\"window_start\":0,\"window_end\":10000,\"count\":1,\"timing\":\"early\"}");

      d.advanceWallClock(Duration.ofSeconds(20)); // nothing changed: nothing to say
      assertThat(results(d)).isEmpty();
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isZero();

      send(d, "a3", "a", 3_000, "");
      d.advanceWallClock(Duration.ofSeconds(5));
      assertThat(results(d))
          .containsExactly(
              "a@9999 per-minute/a/0/1 {\"window_start\":0,\"window_end\":10000,\"count\":3,\"timing\":\"early\"}");

      send(d, "a4", "a", 4_000, ""); // changed, but the on-time firing comes first
      d.advanceWatermark(9_999);
      assertThat(results(d)).extracting(s -> s.substring(s.indexOf("\"count\"")))
          .containsExactly("\"count\":4,\"timing\":\"on_time\"}", "\"count\":1,\"timing\":\"on_time\"}");
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isZero();

      send(d, "a5", "a", 5_000, ""); // within the lateness: late at once, never early again
      d.advanceWallClock(Duration.ofSeconds(30));
      assertThat(results(d)).extracting(s -> s.substring(s.indexOf("\"count\"")))
          .containsExactly("\"count\":5,\"timing\":\"late\"}");
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isZero();
    }
  }

  @Test
  void cleanupDropsStateAndTimersOfEveryKeyAndWindow() {
    try (var d = window("{window: {sliding: {size: '10s', slide: '5s'}}, aggregate: {max: '$.v'}, allowedLateness: '3s',"
        + " earlyFiring: {interval: '1s'}}")) {
      for (int k = 0; k < 5; k++) {
        send(d, "e" + k, "key-" + k, 1_000L * k, "{\"v\": " + k + "}");
      }
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(5 * 2 * 2); // 2 windows x (on time, cleanup)
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isEqualTo(5);
      d.advanceWatermark(4_999 + 3_000); // every [-5000, 5000) is gone
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(5 * 2);
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isEqualTo(5); // [0, 10000) still changed
      d.advanceWatermark(9_999 + 3_000);
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isZero();
      send(d, "late", "key-1", 4_000, "{\"v\": 1}"); // [-5000, 5000) and [0, 10000): both gone
      assertThat(lateIds(d)).containsExactly("late");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void valuesTheAggregateCannotUseAreDeadLetteredAndLeaveTheWindowAlone() {
    try (var d = window("{window: {tumbling: '10s'}, aggregate: {sum: '$.order.price'}}")) {
      send(d, "ok", "k", 1_000, "{\"order\": {\"price\": 4}}");
      send(d, "missing", "k", 2_000, "{\"order\": {}}");
      send(d, "text", "k", 3_000, "{\"order\": {\"price\": \"4.50\"}}");
      send(d, "null", "k", 3_000, "{\"order\": {\"price\": null}}");
      send(d, "array", "k", 3_000, "[1, 2]");
      send(d, "broken", "k", 3_000, "{\"order\": ");
      send(d, "new", "fresh", 3_000, "{}"); // no window is created for it
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d))
          .containsExactly(
              "k@9999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":10000,\"sum\":4,\"timing\":\"on_time\"}");
      List<DeadLetter> dead = d.readDeadLetters();
      assertThat(dead).extracting(l -> l.input().getId())
          .containsExactly("missing", "text", "null", "array", "broken", "new");
      assertThat(dead.get(0).reason())
          .isEqualTo("window per-minute: $.order.price is missing; sum needs a number there");
      assertThat(dead.get(1).reason())
          .isEqualTo("window per-minute: $.order.price is \"4.50\", not a number; sum needs a number there");
      assertThat(dead.get(2).reason()).contains("$.order.price is null, not a number");
      assertThat(dead.get(4).reason()).startsWith("malformed JSON payload");
      assertThat(dead).allSatisfy(l -> assertThat(l.stage()).isEqualTo(STAGE));
    }
  }

  @Test
  void aRejectedEventDoesNotMergeSessions() {
    try (var d = window("{window: {session: {gap: '10s'}}, aggregate: {avg: '$.v'}}")) {
      send(d, "e1", "k", 0, "{\"v\": 1}");
      send(d, "e2", "k", 20_000, "{\"v\": 2}");
      send(d, "bad", "k", 10_000, "{\"v\": \"x\"}"); // would bridge both
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(d)).extracting(s -> s.substring(s.indexOf(' ', s.indexOf(' ') + 1) + 1))
          .containsExactly(
              "{\"window_start\":0,\"window_end\":10000,\"avg\":1.0,\"timing\":\"on_time\"}",
              "{\"window_start\":20000,\"window_end\":30000,\"avg\":2.0,\"timing\":\"on_time\"}");
      assertThat(d.readDeadLetters()).extracting(l -> l.input().getId()).containsExactly("bad");
    }
  }

  @Test
  void anEventTimeWithNoWindowInRangeIsDeadLettered() {
    try (var d = window("{window: {tumbling: '1m'}, aggregate: 'count'}")) {
      send(d, "edge", "k", Long.MAX_VALUE - 10, "");
      assertThat(d.readDeadLetters()).singleElement()
          .satisfies(l -> assertThat(l.reason()).isEqualTo(
              "window per-minute: event time 9223372036854775797 has no window (tumbling 1m) within the range of"
                  + " epoch milliseconds"));
    }
  }

  @Test
  void theStageIsStatefulAndDeclaresTheLateOutput() {
    var factory = new WindowStageFactory();
    assertThat(factory.type()).isEqualTo("window");
    assertThat(factory.stateful()).isTrue();
    var definition = factory.create(config("w", "{window: {tumbling: '1m'}, aggregate: 'count'}"));
    assertThat(definition.sideOutputs()).extracting(t -> t.name()).containsExactly("late");
    assertThat(definition.valueIn().deserialize(new byte[] {(byte) 0xff})).isEqualTo(new byte[] {(byte) 0xff});
  }

  @Test
  void closeLeavesNothingBehind() {
    OperatorTestDriver<String, Object, String, JsonNode> d =
        window("{window: {tumbling: '10s'}, aggregate: 'count', earlyFiring: {interval: '1s'}}");
    send(d, "e1", "k", 1_000, "");
    d.advanceWatermark(Long.MAX_VALUE); // as the runtime does before close
    d.close();
    assertThat(results(d)).hasSize(1);
    assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).isZero();
  }
}
