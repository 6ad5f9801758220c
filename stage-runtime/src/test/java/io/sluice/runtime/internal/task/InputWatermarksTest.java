package io.sluice.runtime.internal.task;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class InputWatermarksTest {
  private final InputWatermarks w = new InputWatermarks();

  @Test
  void theMinimumIsOverActiveInputs() {
    w.opened("a");
    w.opened("b");
    w.watermark("a", 100, false);
    assertThat(w.minimum()).isEqualTo(Long.MIN_VALUE); // b has said nothing yet

    w.watermark("b", 50, false);
    assertThat(w.minimum()).isEqualTo(50);

    w.watermark("b", 200, false);
    assertThat(w.minimum()).isEqualTo(100);
  }

  @Test
  void anInputsWatermarkNeverGoesBack() {
    w.opened("a");
    w.watermark("a", 100, false);
    w.watermark("a", 40, false);
    assertThat(w.minimum()).isEqualTo(100);
  }

  @Test
  void anAnnouncedInputThatHasNotConnectedHoldsTheMinimum() {
    w.expect(Set.of("a", "slow"));
    w.opened("a");
    w.watermark("a", 100, false);
    assertThat(w.minimum()).isEqualTo(Long.MIN_VALUE);
    assertThat(w.allIdle()).isFalse();

    w.opened("slow");
    w.watermark("slow", 70, false);
    assertThat(w.minimum()).isEqualTo(70);
  }

  @Test
  void idleInputsAreLeftOutUntilDataOrAnActiveWatermarkArrives() {
    w.opened("a");
    w.opened("b");
    w.watermark("a", 100, false);
    w.watermark("b", Long.MIN_VALUE, true);
    assertThat(w.minimum()).isEqualTo(100);
    assertThat(w.allIdle()).isFalse();

    assertThat(w.data("b")).isTrue(); // b is active again, still at its old watermark
    assertThat(w.data("b")).isFalse();
    assertThat(w.minimum()).isEqualTo(Long.MIN_VALUE);

    w.watermark("b", 120, false);
    assertThat(w.minimum()).isEqualTo(100);
  }

  @Test
  void allIdleOnlyWhenEveryLiveInputIsIdle() {
    w.opened("a");
    w.opened("b");
    w.watermark("a", 10, true);
    assertThat(w.allIdle()).isFalse();
    w.watermark("b", 10, true);
    assertThat(w.allIdle()).isTrue();
  }

  @Test
  void endedInputsAreLeftOutButBrokenOnesKeepHolding() {
    w.expect(Set.of("a", "b"));
    w.opened("a");
    w.opened("b");
    w.watermark("a", 100, false);
    w.watermark("b", 30, false);

    w.closed("b", false); // broke: may reconnect, still holds at 30
    assertThat(w.minimum()).isEqualTo(30);

    w.opened("b");
    w.closed("b", true); // ended cleanly
    assertThat(w.minimum()).isEqualTo(100);

    w.closed("a", true);
    assertThat(w.minimum()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void aBrokenChannelFromAnInstanceTheRoutesDoNotNameIsForgotten() {
    w.expect(Set.of("a"));
    w.opened("a");
    w.watermark("a", 100, false);
    w.opened("stray");
    assertThat(w.minimum()).isEqualTo(Long.MIN_VALUE);

    w.closed("stray", false);
    assertThat(w.minimum()).isEqualTo(100);
  }
}
