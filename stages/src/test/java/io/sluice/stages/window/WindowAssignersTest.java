package io.sluice.stages.window;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class WindowAssignersTest {
  private static List<Long> starts(WindowAssigner assigner, long timestamp) {
    long[] starts = new long[assigner.maxWindowsPerEvent()];
    int n = assigner.assignWindows(timestamp, starts);
    List<Long> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(starts[i]);
    }
    return list;
  }

  @Test
  void tumblingWindowsAlignToTheEpochAlsoBeforeIt() {
    WindowAssigner minute = TumblingWindows.of(Duration.ofMinutes(1));
    assertThat(starts(minute, 0)).containsExactly(0L);
    assertThat(starts(minute, 59_999)).containsExactly(0L);
    assertThat(starts(minute, 60_000)).containsExactly(60_000L);
    assertThat(starts(minute, 1_767_225_630_000L)).containsExactly(1_767_225_600_000L);
    assertThat(starts(minute, -1)).containsExactly(-60_000L);
    assertThat(starts(minute, -60_000)).containsExactly(-60_000L);
    assertThat(minute.windowSizeMillis()).isEqualTo(60_000);
    assertThat(minute.isMerging()).isFalse();
  }

  @Test
  void slidingWindowsAreEveryWindowThatContainsTheEventLatestFirst() {
    WindowAssigner s = SlidingWindows.of(Duration.ofSeconds(10), Duration.ofSeconds(5));
    assertThat(starts(s, 12_000)).containsExactly(10_000L, 5_000L);
    assertThat(starts(s, 10_000)).containsExactly(10_000L, 5_000L);
    assertThat(starts(s, 9_999)).containsExactly(5_000L, 0L);
    assertThat(starts(s, -1)).containsExactly(-5_000L, -10_000L);
    // A size that is no multiple of the slide: 2 or 3 windows.
    WindowAssigner odd = SlidingWindows.of(Duration.ofMillis(10), Duration.ofMillis(4));
    assertThat(odd.maxWindowsPerEvent()).isEqualTo(3);
    assertThat(starts(odd, 1)).containsExactly(0L, -4L, -8L);
    assertThat(starts(odd, 3)).containsExactly(0L, -4L);
  }

  @Property
  void slidingMatchesTheDefinition(
      @ForAll @LongRange(min = -1_000, max = 1_000) long timestamp,
      @ForAll @IntRange(min = 1, max = 50) int size,
      @ForAll @IntRange(min = 1, max = 50) int slide) {
    Assume.that(slide <= size);
    List<Long> expected = new ArrayList<>();
    for (long k = Math.floorDiv(timestamp, slide); k * slide + size > timestamp; k--) {
      expected.add(k * slide); // every [k * slide, k * slide + size) holding the timestamp
    }
    assertThat(starts(SlidingWindows.of(Duration.ofMillis(size), Duration.ofMillis(slide)), timestamp))
        .containsExactlyElementsOf(expected);
    if (slide == size) {
      assertThat(starts(TumblingWindows.of(Duration.ofMillis(size)), timestamp)).containsExactlyElementsOf(expected);
    }
  }

  @Test
  void sessionsOpenAtTheEventAndMerge() {
    WindowAssigner sessions = SessionWindows.withGap(Duration.ofSeconds(30));
    assertThat(starts(sessions, 1_000)).containsExactly(1_000L);
    assertThat(sessions.windowSizeMillis()).isEqualTo(30_000);
    assertThat(sessions.isMerging()).isTrue();
  }

  @Test
  void windowsBeyondTheRangeOfLongAreRefused() {
    long[] scratch = new long[4];
    for (WindowAssigner a :
        List.of(
            TumblingWindows.of(Duration.ofSeconds(7)),
            SlidingWindows.of(Duration.ofSeconds(7), Duration.ofSeconds(3)),
            SessionWindows.withGap(Duration.ofSeconds(7)))) {
      assertThatThrownBy(() -> a.assignWindows(Long.MAX_VALUE - 5, scratch)).isInstanceOf(ArithmeticException.class);
      if (!a.isMerging()) {
        assertThatThrownBy(() -> a.assignWindows(Long.MIN_VALUE, scratch)).isInstanceOf(ArithmeticException.class);
      }
    }
  }

  @Test
  void badSizesAreRefusedWithTheReason() {
    assertThatThrownBy(() -> TumblingWindows.of(Duration.ZERO)).hasMessage("the window size must be positive, got 0s");
    assertThatThrownBy(() -> SessionWindows.withGap(Duration.ofSeconds(-1)))
        .hasMessage("the session gap must be positive, got -1s");
    assertThatThrownBy(() -> SlidingWindows.of(Duration.ofSeconds(5), Duration.ofSeconds(6)))
        .hasMessageContaining("the slide must not exceed the window size (5s), got 6s");
    assertThatThrownBy(() -> SlidingWindows.of(Duration.ofDays(1), Duration.ofMillis(1)))
        .hasMessageContaining("puts every event in 86400000 windows; at most 10000");
    assertThat(SlidingWindows.of(Duration.ofDays(1), Duration.ofMinutes(1)).maxWindowsPerEvent()).isEqualTo(1440);
  }

  @Test
  void earlyFiringPoliciesCheckTheirArguments() {
    assertThat(EarlyFiring.everyCount(3)).isEqualTo(new EarlyFiring.EveryCount(3));
    assertThat(EarlyFiring.every(Duration.ofSeconds(5))).isEqualTo(new EarlyFiring.EveryInterval(Duration.ofSeconds(5)));
    assertThatThrownBy(() -> EarlyFiring.everyCount(0)).hasMessageContaining("must be positive, got 0");
    assertThatThrownBy(() -> EarlyFiring.every(Duration.ofNanos(10))).hasMessageContaining("at least 1ms");
  }

  @Test
  void durationsAreWrittenInTheSpecsUnits() {
    assertThat(Arrays.asList(
            Durations.format(Duration.ZERO),
            Durations.format(Duration.ofMillis(1500)),
            Durations.format(Duration.ofSeconds(2)),
            Durations.format(Duration.ofMinutes(90)),
            Durations.format(Duration.ofHours(2)),
            Durations.format(Duration.ofDays(1)),
            Durations.format(Duration.ofSeconds(-5))))
        .containsExactly("0s", "1500ms", "2s", "90m", "2h", "1d", "-5s");
  }
}
