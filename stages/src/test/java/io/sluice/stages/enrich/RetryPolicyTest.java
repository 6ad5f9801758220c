package io.sluice.stages.enrich;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  private static final long MS = 1_000_000;

  @Test
  void growsByTheMultiplierUpToMaxWithoutJitter() {
    RetryPolicy p = new RetryPolicy(Duration.ofMillis(50), Duration.ofSeconds(2), 2.0, 0);
    assertThat(p.delayNanos(1, 0.9)).isEqualTo(50 * MS);
    assertThat(p.delayNanos(2, 0.9)).isEqualTo(100 * MS);
    assertThat(p.delayNanos(3, 0.9)).isEqualTo(200 * MS);
    assertThat(p.delayNanos(6, 0.9)).isEqualTo(1_600 * MS);
    assertThat(p.delayNanos(7, 0.9)).isEqualTo(2_000 * MS);
    assertThat(p.delayNanos(10_000, 0.9)).isEqualTo(2_000 * MS); // no overflow
  }

  @Test
  void jitterTakesAShareOffTheWait() {
    RetryPolicy half = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(2), 2.0, 0.5);
    assertThat(half.delayNanos(1, 0.0)).isEqualTo(100 * MS);
    assertThat(half.delayNanos(1, 0.5)).isEqualTo(75 * MS);
    assertThat(half.delayNanos(1, 0.999_999_999)).isEqualTo(50 * MS);
    RetryPolicy full = new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(2), 2.0, 1.0);
    assertThat(full.delayNanos(2, 0.75)).isEqualTo(50 * MS);
  }

  @Property
  void theWaitStaysWithinItsBand(
      @ForAll @IntRange(min = 1, max = 100) int failures,
      @ForAll @DoubleRange(min = 0, max = 1, maxIncluded = false) double random,
      @ForAll @DoubleRange(min = 0, max = 1) double jitter,
      @ForAll @DoubleRange(min = 1, max = 10) double multiplier) {
    RetryPolicy p = new RetryPolicy(Duration.ofMillis(10), Duration.ofSeconds(5), multiplier, jitter);
    double base = Math.min(10 * MS * Math.pow(multiplier, failures - 1), 5_000 * MS);
    long wait = p.delayNanos(failures, random);
    assertThat((double) wait).isBetween(Math.floor(base * (1 - jitter)) - 1, base + 1);
  }
}
