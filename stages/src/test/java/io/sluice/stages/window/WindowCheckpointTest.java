package io.sluice.stages.window;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.window.WindowTestKit.STAGE;
import static io.sluice.stages.window.WindowTestKit.results;
import static io.sluice.stages.window.WindowTestKit.send;
import static io.sluice.stages.window.WindowTestKit.window;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.partition.KeyGroups;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import io.sluice.runtime.testkit.OperatorTestDriver.Snapshot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Checkpoints of the window stage: a run that is snapshotted at a random point and restored into
 * fresh operators (at the same parallelism, or rescaled) emits exactly what an uninterrupted run
 * emits, ids included, for every kind of window, every built-in aggregate, early firing by count
 * and by processing time, and lateness.
 */
class WindowCheckpointTest {
  private static final int MAX_PARALLELISM = KeyGroups.DEFAULT_MAX_PARALLELISM;

  enum Kind { TUMBLING, SLIDING, SESSION }

  /**
   * One input: before it the wall clock moves {@code wallMillis}; {@code value} is the payload's
   * {@code $.v} as JSON text, or null for a payload without it.
   */
  record Input(String id, String key, long time, String value, long wallMillis) {
    String payload() {
      return value == null ? "{}" : "{\"v\": " + value + "}";
    }
  }

  /** A generated run; the input is cut (snapshot and restore) before input {@code cut}. */
  record Scenario(
      Kind kind, long size, long slide, long lateness, long outOfOrder, String aggregate, String early,
      List<Input> events, int cut) {
    String settings() {
      String window =
          switch (kind) {
            case TUMBLING -> "{tumbling: " + size + "}";
            case SLIDING -> "{sliding: {size: " + size + ", slide: " + slide + "}}";
            case SESSION -> "{session: {gap: " + size + "}}";
          };
      String agg = aggregate.equals("count") ? "'count'" : "{" + aggregate + ": '$.v'}";
      return "{window: " + window + ", aggregate: " + agg + ", allowedLateness: " + lateness + early + "}";
    }
  }

  // ---------------------------------------------------------------- generators

  @Provide
  Arbitrary<Scenario> tumbling() {
    return scenarios(Kind.TUMBLING);
  }

  @Provide
  Arbitrary<Scenario> sliding() {
    return scenarios(Kind.SLIDING);
  }

  @Provide
  Arbitrary<Scenario> sessions() {
    return scenarios(Kind.SESSION);
  }

  private static Arbitrary<Scenario> scenarios(Kind kind) {
    Arbitrary<Integer> sizes = Arbitraries.integers().between(1, 40);
    Arbitrary<Integer> slidePercents = Arbitraries.integers().between(1, 100);
    Arbitrary<Integer> lateness = Arbitraries.integers().between(0, 30).edgeCases(c -> c.includeOnly(0));
    Arbitrary<Integer> outOfOrder = Arbitraries.integers().between(0, 30);
    Arbitrary<String> aggregates = Arbitraries.of("count", "sum", "min", "max", "avg", "distinct");
    Arbitrary<String> early = Arbitraries.of(
        "", ", earlyFiring: {count: 1}", ", earlyFiring: {count: 2}", ", earlyFiring: {interval: 7}",
        ", earlyFiring: {interval: 50}");
    // Per input: key, time step (in grains; far back makes it late), value, wall-clock step.
    Arbitrary<int[]> steps =
        Combinators.combine(
                Arbitraries.integers().between(0, 7),
                Arbitraries.integers().between(-20, 4),
                Arbitraries.integers().between(-6, 6),
                Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(0, 20))
            .as((key, step, v, form, wall) -> new int[] {key, step, v, form, wall});
    Arbitrary<List<int[]>> streams = steps.list().ofMinSize(1).ofMaxSize(60);
    Arbitrary<Integer> grains = Arbitraries.of(1, 5, 10);
    Arbitrary<Double> cuts = Arbitraries.doubles().between(0, 1);
    return Combinators.combine(sizes, slidePercents, lateness, outOfOrder, aggregates, early, grains, streams)
        .as((size, slidePercent, late, d, aggregate, earlyFiring, grain, stream) -> {
          long slide = Math.max(1, size * slidePercent / 100);
          List<Input> events = new ArrayList<>();
          long max = 0;
          for (int i = 0; i < stream.size(); i++) {
            int[] s = stream.get(i);
            long time = max + (long) s[1] * grain;
            max = Math.max(max, time);
            events.add(new Input("e" + i, "k" + s[0], time, value(s[2], s[3]), s[4]));
          }
          return new Scenario(kind, size, slide, late, d, aggregate, earlyFiring, events, 0);
        })
        .flatMap(s -> cuts.map(c -> withCut(s, (int) Math.round(c * s.events().size()))));
  }

  /** Integers, the same as doubles ("2.0": distinct deems them one value), halves, and a few gaps. */
  private static String value(int v, int form) {
    return switch (form) {
      case 0 -> Integer.toString(v);
      case 1 -> v + ".0";
      case 2 -> v + ".5";
      default -> v == 6 ? null : Integer.toString(v); // no $.v: dead-lettered by field aggregates
    };
  }

  private static Scenario withCut(Scenario s, int cut) {
    return new Scenario(s.kind(), s.size(), s.slide(), s.lateness(), s.outOfOrder(), s.aggregate(), s.early(),
        s.events(), cut);
  }

  // ---------------------------------------------------------------- properties

  @Property(tries = 300)
  void tumblingWindowsContinueAfterARestoreAsIfNothingHappened(@ForAll("tumbling") Scenario s) {
    assertThat(restoredRun(s)).isEqualTo(uninterrupted(s));
  }

  @Property(tries = 300)
  void slidingWindowsContinueAfterARestoreAsIfNothingHappened(@ForAll("sliding") Scenario s) {
    assertThat(restoredRun(s)).isEqualTo(uninterrupted(s));
  }

  @Property(tries = 300)
  void sessionWindowsContinueAfterARestoreAsIfNothingHappened(@ForAll("sessions") Scenario s) {
    assertThat(restoredRun(s)).isEqualTo(uninterrupted(s));
  }

  @Property(tries = 150)
  void aRescaleFromTwoToThreeOrOneKeepsEveryKeysResults(
      @ForAll("tumbling") Scenario tumbling, @ForAll("sessions") Scenario session, @ForAll("sliding") Scenario sliding) {
    for (Scenario s : List.of(tumbling, session, sliding)) {
      Outcome reference = uninterrupted(s);
      assertThat(rescaledRun(s, 2, 3)).as("2 -> 3").isEqualTo(reference);
      assertThat(rescaledRun(s, 2, 1)).as("2 -> 1").isEqualTo(reference);
    }
  }

  // ---------------------------------------------------------------- examples

  @Test
  void earlyFiringByProcessingTimeGoesOnAfterARestore() {
    String settings = "{window: {tumbling: '10s'}, aggregate: 'count', earlyFiring: {interval: '5s'}}";
    Snapshot snapshot;
    try (var d = window(settings)) {
      send(d, "a1", "a", 1_000, "");
      d.advanceWallClock(Duration.ofSeconds(5));
      assertThat(results(d)).containsExactly(
          "a@9999 per-minute/a/0/0 {\"window_start\":0,\"window_end\":10000,\"count\":1,\"timing\":\"early\"}");
      send(d, "a2", "a", 2_000, ""); // changed: an early result is due at the next tick
      d.advanceWallClock(Duration.ofSeconds(1));
      snapshot = d.snapshot(1);
    }
    var restored = restore(settings, 0, 1, List.of(snapshot));
    try (restored) {
      assertThat(restored.pendingTimers(TimeDomain.PROCESSING_TIME)).isOne();
      restored.advanceWallClock(Duration.ofSeconds(10)); // passes the tick the timer is for
      assertThat(results(restored)).containsExactly(
          "a@9999 per-minute/a/0/1 {\"window_start\":0,\"window_end\":10000,\"count\":2,\"timing\":\"early\"}");
      send(restored, "a3", "a", 3_000, ""); // a new tick is registered, as before the restore
      restored.advanceWallClock(Duration.ofSeconds(5));
      restored.advanceWatermark(9_999);
      assertThat(results(restored)).containsExactly(
          "a@9999 per-minute/a/0/2 {\"window_start\":0,\"window_end\":10000,\"count\":3,\"timing\":\"early\"}",
          "a@9999 per-minute/a/0/3 {\"window_start\":0,\"window_end\":10000,\"count\":3,\"timing\":\"on_time\"}");
    }
  }

  @Test
  void anEventLateBeforeTheRestoreIsLateAfterItBeforeAnyWatermarkArrives() {
    String settings = "{window: {tumbling: '10s'}, aggregate: {sum: '$.v'}}";
    Snapshot snapshot;
    try (var d = window(settings)) {
      send(d, "a1", "a", 1_000, "{\"v\": 1}");
      d.advanceWatermark(20_000); // [0, 10000) fired and was dropped
      assertThat(results(d)).hasSize(1);
      snapshot = d.snapshot(3);
    }
    try (var restored = restore(settings, 0, 1, List.of(snapshot))) {
      assertThat(restored.currentWatermark()).isEqualTo(Long.MIN_VALUE); // the runtime's starts unknown
      send(restored, "a2", "a", 2_000, "{\"v\": 2}");
      assertThat(WindowTestKit.lateIds(restored)).containsExactly("a2");
      restored.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(restored)).isEmpty(); // no second result with the id per-minute/a/0/0
    }
  }

  @Test
  void aJavaAggregatesAccumulatorsGoThroughItsOwnSerde() {
    String settings = "{window: {session: {gap: '10s'}}, aggregate: {java: '"
        + JavaAggregatesTest.Spread.class.getName() + "'}}";
    Snapshot snapshot;
    try (var d = window(settings)) {
      send(d, "e1", "k", 0, "{\"price\": 3}");
      send(d, "e2", "k", 5_000, "{\"price\": 8}");
      snapshot = d.snapshot(1);
    }
    try (var restored = restore(settings, 0, 1, List.of(snapshot))) {
      send(restored, "e3", "k", 12_000, "{\"price\": 1}");
      restored.advanceWatermark(Long.MAX_VALUE);
      assertThat(results(restored)).containsExactly(
          "k@21999 per-minute/k/0/0 {\"window_start\":0,\"window_end\":22000,\"price\":{\"spread\":7.0},"
              + "\"timing\":\"on_time\"}");
    }
  }

  /** An aggregate whose accumulator is neither Serializable nor given a serde. */
  public static final class Unserializable implements AggregateFunction<JsonNode, Unserializable.Acc, Long> {
    /** Not Serializable. */
    public static final class Acc {
      long n;
    }

    @Override
    public Acc createAccumulator() {
      return new Acc();
    }

    @Override
    public Acc add(JsonNode value, Acc acc) {
      acc.n++;
      return acc;
    }

    @Override
    public Acc merge(Acc a, Acc b) {
      a.n += b.n;
      return a;
    }

    @Override
    public Long result(Acc acc) {
      return acc.n;
    }
  }

  @Test
  void aCheckpointOfAnAccumulatorThatCannotBeWrittenFailsNamingTheKeyAndTheClass() {
    try (var d = window("{window: {tumbling: '10s'}, aggregate: {java: '" + Unserializable.class.getName() + "'}}")) {
      send(d, "e1", "k", 0, "{}");
      assertThatThrownBy(() -> d.snapshot(4))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("checkpoint 4")
          .hasMessageContaining("key 'k'")
          .hasMessageContaining(Unserializable.Acc.class.getName());
    }
  }

  // ---------------------------------------------------------------- running

  /** What a run emitted, per key in order, and the late and dead-lettered inputs in order. */
  record Outcome(Map<String, List<String>> results, List<String> late, List<String> dead) {}

  /** Collects a run's outputs from however many drivers it takes. */
  private static final class Collector {
    final Map<String, List<String>> results = new LinkedHashMap<>();
    final Map<String, List<String>> late = new LinkedHashMap<>();
    final Map<String, List<String>> dead = new LinkedHashMap<>();

    void drain(OperatorTestDriver<String, Object, String, JsonNode> d) {
      for (Record<String, JsonNode> r : d.readOutputs()) {
        results.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(WindowTestKit.describe(r));
      }
      for (Event e : d.readSideOutputEvents(WindowOperator.LATE_OUTPUT)) {
        late.computeIfAbsent(e.getKey().toStringUtf8(), k -> new ArrayList<>()).add(e.getId());
      }
      for (DeadLetter l : d.readDeadLetters()) {
        dead.computeIfAbsent(l.input().getKey().toStringUtf8(), k -> new ArrayList<>())
            .add(l.input().getId() + ": " + l.reason());
      }
    }

    Outcome outcome() {
      // Late and dead inputs in input order: ids are e<i>.
      return new Outcome(sorted(results), flatten(late), flatten(dead));
    }

    private static Map<String, List<String>> sorted(Map<String, List<String>> m) {
      return new TreeMap<>(m);
    }

    private static List<String> flatten(Map<String, List<String>> m) {
      List<String> all = new ArrayList<>();
      m.values().forEach(all::addAll);
      all.sort(Comparator.comparingInt(WindowCheckpointTest::inputIndex));
      return all;
    }
  }

  private static int inputIndex(String idAndMore) {
    int end = idAndMore.indexOf(':');
    return Integer.parseInt(idAndMore.substring(1, end < 0 ? idAndMore.length() : end));
  }

  private static Outcome uninterrupted(Scenario s) {
    Collector out = new Collector();
    try (var d = window(s.settings())) {
      long max = Long.MIN_VALUE;
      for (Input e : s.events()) {
        max = step(List.of(d), d, e, max, s);
        out.drain(d);
      }
      d.advanceWatermark(Long.MAX_VALUE);
      out.drain(d);
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
    return out.outcome();
  }

  private static Outcome restoredRun(Scenario s) {
    return rescaledRun(s, 1, 1);
  }

  /**
   * Runs the input through {@code before} instances (each key to the instance owning its key
   * group), snapshots them all before input {@code cut}, restores {@code after} instances from the
   * snapshots, and runs the rest through those.
   */
  private static Outcome rescaledRun(Scenario s, int before, int after) {
    Collector out = new Collector();
    List<OperatorTestDriver<String, Object, String, JsonNode>> drivers = new ArrayList<>();
    for (int i = 0; i < before; i++) {
      drivers.add(OperatorTestDriver.<String, Object, String, JsonNode>forStage(
          new WindowStageFactory(), config(STAGE, s.settings()), i).parallelism(before));
    }
    long max = Long.MIN_VALUE;
    for (int i = 0; i < s.events().size(); i++) {
      if (i == s.cut()) {
        drivers = restart(s, drivers, after, 7);
      }
      Input e = s.events().get(i);
      max = step(drivers, owner(drivers, e.key()), e, max, s);
      drivers.forEach(out::drain);
    }
    if (s.cut() == s.events().size()) {
      drivers = restart(s, drivers, after, 7);
    }
    for (var d : drivers) {
      d.advanceWatermark(Long.MAX_VALUE);
      out.drain(d);
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
      d.close();
    }
    return out.outcome();
  }

  private static List<OperatorTestDriver<String, Object, String, JsonNode>> restart(
      Scenario s, List<OperatorTestDriver<String, Object, String, JsonNode>> drivers, int parallelism, long checkpoint) {
    List<Snapshot> snapshots = new ArrayList<>();
    long elapsed = drivers.get(0).wallClockMillis() - OperatorTestDriver.DEFAULT_WALL_CLOCK_START.toEpochMilli();
    for (var d : drivers) {
      snapshots.add(d.snapshot(checkpoint)); // the drivers are dropped, as a crash would
    }
    List<OperatorTestDriver<String, Object, String, JsonNode>> restored = new ArrayList<>();
    for (int i = 0; i < parallelism; i++) {
      var d = restore(s.settings(), i, parallelism, snapshots);
      d.advanceWallClock(Duration.ofMillis(elapsed)); // the same wall clock as before: no timer is due yet
      restored.add(d);
    }
    return restored;
  }

  /** Feeds one input as the runtime would: clock, event to its key's owner, watermark to all. */
  private static long step(
      List<OperatorTestDriver<String, Object, String, JsonNode>> all,
      OperatorTestDriver<String, Object, String, JsonNode> owner,
      Input e, long max, Scenario s) {
    for (var d : all) {
      d.advanceWallClock(Duration.ofMillis(e.wallMillis()));
    }
    send(owner, e.id(), e.key(), e.time(), e.payload());
    long newMax = Math.max(max, e.time());
    for (var d : all) {
      d.advanceWatermark(newMax - s.outOfOrder() - 1);
    }
    return newMax;
  }

  private static OperatorTestDriver<String, Object, String, JsonNode> owner(
      List<OperatorTestDriver<String, Object, String, JsonNode>> drivers, String key) {
    int group = KeyGroups.keyGroup(key.getBytes(StandardCharsets.UTF_8), MAX_PARALLELISM);
    return drivers.get(KeyGroups.instanceFor(group, drivers.size(), MAX_PARALLELISM));
  }

  private static OperatorTestDriver<String, Object, String, JsonNode> restore(
      String settings, int index, int parallelism, List<Snapshot> snapshots) {
    return OperatorTestDriver.restore(new WindowStageFactory(), config(STAGE, settings), index, parallelism, snapshots);
  }
}
