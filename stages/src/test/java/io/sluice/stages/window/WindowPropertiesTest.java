package io.sluice.stages.window;

import static io.sluice.stages.window.WindowTestKit.send;
import static io.sluice.stages.window.WindowTestKit.window;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.TimeDomain;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random streams against a batch reference: keys, out-of-order timestamps (a share of them behind
 * the watermark by more than the lateness), a watermark of {@code max seen - D - 1} after every
 * event. The last result of every window must be the aggregate of exactly the events the reference
 * accepted into it, and the late output exactly the events the reference deems late.
 */
class WindowPropertiesTest {
  enum Kind { TUMBLING, SLIDING, SESSION }

  /** One input event; {@code v} is its payload's {@code $.v}. */
  record Input(String id, String key, long time, int v) {}

  /** A generated run: the stage's settings and its input. */
  record Scenario(
      Kind kind, long size, long slide, long lateness, long outOfOrder, String aggregate, long earlyCount, List<Input> events) {
    String settings() {
      String window =
          switch (kind) {
            case TUMBLING -> "{tumbling: " + size + "}";
            case SLIDING -> "{sliding: {size: " + size + ", slide: " + slide + "}}";
            case SESSION -> "{session: {gap: " + size + "}}";
          };
      String agg = aggregate.equals("count") ? "'count'" : "{" + aggregate + ": '$.v'}";
      String early = earlyCount > 0 ? ", earlyFiring: {count: " + earlyCount + "}" : "";
      return "{window: " + window + ", aggregate: " + agg + ", allowedLateness: " + lateness + early + "}";
    }
  }

  /** A window of a key, as the output names it. */
  record Pane(String key, long start, long end) {}

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
    Arbitrary<String> aggregates = Arbitraries.of("count", "sum", "max", "distinct");
    Arbitrary<Integer> early = Arbitraries.integers().between(0, 3);
    // Steps relative to the latest time so far, in units of a grain: mostly small, some far back
    // (late), some ahead. A coarse grain makes equal times (and windows that meet exactly) common.
    Arbitrary<int[]> steps =
        Combinators.combine(
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(-20, 4),
                Arbitraries.integers().between(-3, 3))
            .as((key, step, v) -> new int[] {key, step, v});
    Arbitrary<List<int[]>> streams = steps.list().ofMaxSize(60);
    Arbitrary<Integer> grains = Arbitraries.of(1, 5, 10);
    return Combinators.combine(sizes, slidePercents, lateness, outOfOrder, aggregates, early, grains, streams)
        .as((size, slidePercent, late, d, aggregate, earlyCount, grain, stream) -> {
          long slide = Math.max(1, size * slidePercent / 100);
          List<Input> events = new ArrayList<>();
          long max = 0;
          for (int i = 0; i < stream.size(); i++) {
            int[] s = stream.get(i);
            long time = max + (long) s[1] * grain; // starts around 0: negative times are covered too
            max = Math.max(max, time);
            events.add(new Input("e" + i, "k" + s[0], time, s[2]));
          }
          return new Scenario(kind, size, slide, late, d, aggregate, earlyCount, events);
        });
  }

  // ---------------------------------------------------------------- properties

  @Property(tries = 400)
  void tumblingWindowsMatchTheReference(@ForAll("tumbling") Scenario s) {
    checkFixed(s);
  }

  @Property(tries = 400)
  void slidingWindowsMatchTheReference(@ForAll("sliding") Scenario s) {
    checkFixed(s);
  }

  @Property(tries = 400)
  void sessionWindowsMatchTheReference(@ForAll("sessions") Scenario s) {
    Run run = run(s);
    SessionReference ref = SessionReference.of(s);

    assertThat(run.lateIds).as("late output").containsExactlyElementsOf(ref.late);
    Map<Pane, List<Record<String, JsonNode>>> byPane = byPane(run.outputs);
    for (Map.Entry<Pane, List<Integer>> e : ref.sessions.entrySet()) {
      List<Record<String, JsonNode>> fired = byPane.get(e.getKey());
      assertThat(fired).as("results of session %s", e.getKey()).isNotNull();
      assertThat(value(s, last(fired))).as("last result of %s", e.getKey()).isEqualTo(expected(s, e.getValue()));
    }
    // Every other window that fired was merged into a later session (results are not retracted).
    for (Pane p : byPane.keySet()) {
      if (!ref.sessions.containsKey(p)) {
        assertThat(ref.sessions.keySet())
            .as("%s fired but is no session of the reference, nor part of one", p)
            .anySatisfy(q -> assertThat(q.key.equals(p.key) && q.start <= p.start && p.end <= q.end).isTrue());
      }
    }
    checkIds(run.outputs, false);
  }

  private static void checkFixed(Scenario s) {
    Run run = run(s);
    FixedReference ref = FixedReference.of(s);

    assertThat(run.lateIds).as("late output").containsExactlyElementsOf(ref.late);
    Map<Pane, List<Record<String, JsonNode>>> byPane = byPane(run.outputs);
    assertThat(byPane.keySet()).as("windows that fired").containsExactlyInAnyOrderElementsOf(ref.windows.keySet());
    for (Map.Entry<Pane, List<Integer>> e : ref.windows.entrySet()) {
      Pane pane = e.getKey();
      List<Record<String, JsonNode>> fired = byPane.get(pane);
      assertThat(value(s, last(fired))).as("last result of %s", pane).isEqualTo(expected(s, e.getValue()));
      String timings = String.join(",", fired.stream().map(r -> r.value().get("timing").asText()).toList());
      List<Integer> onTime = ref.onTime.get(pane);
      if (onTime == null) {
        assertThat(timings).as("a window born after its end fires late only").matches("late(,late)*");
      } else {
        assertThat(timings).as("firings of %s", pane).matches("(early,)*on_time(,late)*");
        Record<String, JsonNode> onTimeResult = fired.stream()
            .filter(r -> r.value().get("timing").asText().equals("on_time")).findFirst().orElseThrow();
        assertThat(value(s, onTimeResult)).as("on-time result of %s", pane).isEqualTo(expected(s, onTime));
      }
      if (s.earlyCount == 0) {
        assertThat(timings).doesNotContain("early");
      }
      assertThat(fired).allSatisfy(r -> assertThat(r.timestamp()).isEqualTo(pane.end - 1));
    }
    checkIds(run.outputs, true);
  }

  /**
   * Ids are unique and name the window's start; the firings of a window count up from 0, or
   * (sessions that begin where retired ones did) at least count up.
   */
  private static void checkIds(List<Record<String, JsonNode>> outputs, boolean fromZero) {
    assertThat(new HashSet<>(outputs.stream().map(Record::id).toList())).as("ids").hasSameSizeAs(outputs);
    Map<String, Integer> last = new LinkedHashMap<>();
    for (Record<String, JsonNode> r : outputs) {
      String window = WindowTestKit.STAGE + "/" + r.key() + "/" + r.value().get("window_start").asLong() + "/";
      assertThat(r.id()).startsWith(window);
      int n = Integer.parseInt(r.id().substring(window.length()));
      Integer before = last.put(window, n);
      if (fromZero) {
        assertThat(n).as(r.id()).isEqualTo(before == null ? 0 : before + 1);
      } else {
        assertThat(n).as(r.id()).isGreaterThan(before == null ? -1 : before);
      }
    }
  }

  // ---------------------------------------------------------------- running the stage

  /** What the stage emitted for a scenario. */
  record Run(List<Record<String, JsonNode>> outputs, List<String> lateIds) {}

  private static Run run(Scenario s) {
    try (var d = window(s.settings())) {
      long max = Long.MIN_VALUE;
      for (Input e : s.events) {
        send(d, e.id, e.key, e.time, "{\"v\": " + e.v + "}");
        max = Math.max(max, e.time);
        d.advanceWatermark(max - s.outOfOrder - 1);
      }
      d.advanceWatermark(Long.MAX_VALUE); // the end of the input, as the runtime does it
      assertThat(d.readDeadLetters()).isEmpty();
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).as("event-time timers left").isZero();
      assertThat(d.pendingTimers(TimeDomain.PROCESSING_TIME)).as("processing-time timers left").isZero();
      List<Record<String, JsonNode>> outputs = d.readOutputs();
      List<String> late = d.readSideOutputEvents(WindowOperator.LATE_OUTPUT).stream().map(Event::getId).toList();
      return new Run(outputs, late);
    }
  }

  private static Map<Pane, List<Record<String, JsonNode>>> byPane(List<Record<String, JsonNode>> outputs) {
    Map<Pane, List<Record<String, JsonNode>>> byPane = new LinkedHashMap<>();
    for (Record<String, JsonNode> r : outputs) {
      Pane p = new Pane(r.key(), r.value().get("window_start").asLong(), r.value().get("window_end").asLong());
      byPane.computeIfAbsent(p, x -> new ArrayList<>()).add(r);
    }
    return byPane;
  }

  private static <T> T last(List<T> list) {
    return list.get(list.size() - 1);
  }

  private static final Pattern INTEGER = Pattern.compile("-?\\d+");

  private static long value(Scenario s, Record<String, JsonNode> result) {
    JsonNode v = result.value().get(s.aggregate);
    // Every aggregate here is an integer over integer inputs, and must be written as one.
    assertThat(v.toString()).as("%s of %s", s.aggregate, result).matches(INTEGER);
    return v.asLong();
  }

  private static long expected(Scenario s, List<Integer> values) {
    return switch (s.aggregate) {
      case "count" -> values.size();
      case "sum" -> values.stream().mapToLong(Integer::longValue).sum();
      case "max" -> values.stream().mapToLong(Integer::longValue).max().orElseThrow();
      default -> new HashSet<>(values).size();
    };
  }

  // ---------------------------------------------------------------- references

  /**
   * Tumbling and sliding windows computed directly: an event goes to every window {@code [k *
   * slide, k * slide + size)} that holds it and is not late when it arrives; it is late when that
   * holds for none. A window's on-time result holds the values that arrived before the watermark
   * reached its end; a window whose first value came after that has none.
   */
  static final class FixedReference {
    final Map<Pane, List<Integer>> windows = new LinkedHashMap<>();
    final Map<Pane, List<Integer>> onTime = new LinkedHashMap<>();
    final List<String> late = new ArrayList<>();

    static FixedReference of(Scenario s) {
      FixedReference ref = new FixedReference();
      long slide = s.kind == Kind.TUMBLING ? s.size : s.slide;
      long watermark = Long.MIN_VALUE;
      long max = Long.MIN_VALUE;
      for (Input e : s.events) {
        boolean accepted = false;
        for (long k = Math.floorDiv(e.time, slide); k * slide + s.size > e.time; k--) {
          Pane p = new Pane(e.key, k * slide, k * slide + s.size);
          if (p.end - 1 + s.lateness <= watermark) {
            continue; // late for this window
          }
          accepted = true;
          boolean first = !ref.windows.containsKey(p);
          ref.windows.computeIfAbsent(p, x -> new ArrayList<>()).add(e.v);
          if (watermark < p.end - 1) {
            ref.onTime.computeIfAbsent(p, x -> new ArrayList<>()).add(e.v);
          } else if (first) {
            ref.onTime.remove(p); // born after its end: never on time
          }
        }
        if (!accepted) {
          ref.late.add(e.id);
        }
        max = Math.max(max, e.time);
        watermark = Math.max(watermark, max - s.outOfOrder - 1);
      }
      return ref;
    }
  }

  /**
   * Sessions computed directly, per key: the sessions so far as intervals with their values;
   * sessions whose end - 1 + lateness the watermark reached are final and gone; a new event's
   * [t, t + gap) joins every live session it overlaps or touches, and is late when the union still
   * is late.
   */
  static final class SessionReference {
    final Map<Pane, List<Integer>> sessions = new LinkedHashMap<>();
    final List<String> late = new ArrayList<>();

    static SessionReference of(Scenario s) {
      SessionReference ref = new SessionReference();
      Map<Pane, List<Integer>> live = new LinkedHashMap<>();
      long watermark = Long.MIN_VALUE;
      long max = Long.MIN_VALUE;
      for (Input e : s.events) {
        final long wm = watermark;
        live.entrySet().removeIf(x -> {
          boolean gone = x.getKey().end - 1 + s.lateness <= wm;
          if (gone) {
            ref.sessions.put(x.getKey(), x.getValue());
          }
          return gone;
        });
        long start = e.time;
        long end = e.time + s.size;
        List<Pane> joined = new ArrayList<>();
        for (Pane p : live.keySet()) {
          if (p.key.equals(e.key) && p.start <= e.time + s.size && p.end >= e.time) {
            joined.add(p);
            start = Math.min(start, p.start);
            end = Math.max(end, p.end);
          }
        }
        if (end - 1 + s.lateness <= watermark) {
          ref.late.add(e.id);
        } else {
          List<Integer> values = new ArrayList<>();
          for (Pane p : joined) {
            values.addAll(live.remove(p));
          }
          values.add(e.v);
          live.put(new Pane(e.key, start, end), values);
        }
        max = Math.max(max, e.time);
        watermark = Math.max(watermark, max - s.outOfOrder - 1);
      }
      ref.sessions.putAll(live);
      return ref;
    }
  }
}
