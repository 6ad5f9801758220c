package io.sluice.stages.enrich;

import java.time.Duration;

/**
 * Exponential backoff with jitter for failed calls. Immutable.
 *
 * <p>After the n-th failed attempt of an event the next one waits {@code base = min(max, initial ·
 * multiplier^(n-1))}, shortened by a random share of up to {@code jitter}: the wait is uniform in
 * {@code [base·(1 - jitter), base]}. So {@code jitter: 0} is plain exponential backoff, {@code 1}
 * is "full jitter" (uniform in {@code [0, base]}), and the default {@code 0.5} keeps at least half
 * of the backoff while still spreading retries that failed together.
 *
 * @param initial the wait after the first failure
 * @param max the longest wait
 * @param multiplier how much the wait grows per failure, at least 1
 * @param jitter the share of the wait that is random, in [0, 1]
 */
record RetryPolicy(Duration initial, Duration max, double multiplier, double jitter) {
  /**
   * The wait before the next attempt.
   *
   * @param failures failed attempts so far, at least 1
   * @param random a uniform draw in [0, 1)
   */
  long delayNanos(int failures, double random) {
    double base = initial.toNanos() * Math.pow(multiplier, Math.max(0, failures - 1));
    base = Math.min(base, max.toNanos()); // also tames an overflow to infinity
    return Math.max(0, Math.round(base * (1 - jitter * random)));
  }
}
