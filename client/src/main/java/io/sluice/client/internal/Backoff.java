package io.sluice.client.internal;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with jitter: the base delay of attempt {@code n} (from 1) is {@code
 * min(max, initial × 2^(n−1))}, and the delay is drawn uniformly from {@code [base/2, base]}
 * ("equal jitter"), so producers that lost the same ingest at the same moment do not come back in
 * lockstep, and no delay exceeds {@code max}.
 *
 * <p>Immutable; thread-safe when its random source is.
 */
public final class Backoff {
  private final long initialNanos;
  private final long maxNanos;
  private final DoubleSupplier random;

  /**
   * @param initial the base delay of the first attempt; positive
   * @param max the cap on the base delay; at least {@code initial}
   * @param random values in {@code [0, 1)}; tests pass a fixed one
   */
  public Backoff(Duration initial, Duration max, DoubleSupplier random) {
    this.initialNanos = Objects.requireNonNull(initial, "initial").toNanos();
    this.maxNanos = Objects.requireNonNull(max, "max").toNanos();
    this.random = Objects.requireNonNull(random, "random");
    if (initialNanos <= 0) {
      throw new IllegalArgumentException("the initial backoff must be positive, got " + initial);
    }
    if (maxNanos < initialNanos) {
      throw new IllegalArgumentException(
          "the maximum backoff (" + max + ") must be at least the initial one (" + initial + ")");
    }
  }

  /** A backoff drawing its jitter from {@link ThreadLocalRandom}. */
  public static Backoff withJitter(Duration initial, Duration max) {
    return new Backoff(initial, max, () -> ThreadLocalRandom.current().nextDouble());
  }

  /** The base delay of attempt {@code attempt} (from 1), before jitter. */
  public long baseNanos(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempts count from 1, got " + attempt);
    }
    long base = initialNanos;
    for (int i = 1; i < attempt && base < maxNanos; i++) {
      base = base > maxNanos / 2 ? maxNanos : base * 2;
    }
    return Math.min(base, maxNanos);
  }

  /** How long to wait before attempt {@code attempt} (from 1): in {@code [base/2, base]}. */
  public long delayNanos(int attempt) {
    long base = baseNanos(attempt);
    double r = random.getAsDouble();
    return base / 2 + (long) ((base - base / 2) * Math.min(1.0, Math.max(0.0, r)));
  }
}
