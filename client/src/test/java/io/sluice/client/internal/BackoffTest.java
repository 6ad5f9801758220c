package io.sluice.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  @Test
  void theBaseDoublesFromTheInitialDelayUpToTheCap() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0.5);

    assertThat(ms(b.baseNanos(1))).isEqualTo(100);
    assertThat(ms(b.baseNanos(2))).isEqualTo(200);
    assertThat(ms(b.baseNanos(3))).isEqualTo(400);
    assertThat(ms(b.baseNanos(6))).isEqualTo(3_200);
    assertThat(ms(b.baseNanos(7))).isEqualTo(5_000);
    assertThat(ms(b.baseNanos(1_000))).isEqualTo(5_000);
  }

  @Test
  void theJitterDrawsFromTheUpperHalfOfTheBase() {
    assertThat(ms(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0).delayNanos(1)))
        .isEqualTo(50);
    assertThat(ms(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0.5).delayNanos(2)))
        .isEqualTo(150);
    assertThat(
            ms(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0.999_999).delayNanos(40)))
        .isEqualTo(4_999);
    Backoff random = Backoff.withJitter(Duration.ofMillis(100), Duration.ofSeconds(5));
    for (int attempt = 1; attempt < 20; attempt++) {
      long base = random.baseNanos(attempt);
      assertThat(random.delayNanos(attempt)).isBetween(base / 2, base);
    }
  }

  @Test
  void rejectsNonsense() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), () -> 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), () -> 0))
        .isInstanceOf(IllegalArgumentException.class);
    Backoff b = new Backoff(Duration.ofMillis(1), Duration.ofMillis(1), () -> 0);
    assertThatThrownBy(() -> b.baseNanos(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
