package io.sluice.stages.window;

import java.time.Duration;
import java.util.Objects;

/**
 * When a window emits results before the watermark reaches its end (timing {@code "early"}). Early
 * results stop once the window has fired on time; a window that only exists after the watermark
 * passed its end never fires early. Immutable and thread-safe.
 */
public sealed interface EarlyFiring {
  /** No early results: a window fires when the watermark reaches its end, and again when late. */
  static EarlyFiring none() {
    return None.INSTANCE;
  }

  /**
   * An early result every {@code count} events added to a window (counting from its last firing),
   * like Flink's {@code CountTrigger}.
   *
   * @throws IllegalArgumentException if {@code count} is not positive
   */
  static EarlyFiring everyCount(long count) {
    return new EveryCount(count);
  }

  /**
   * Early results on processing-time ticks {@code interval} apart (aligned to the epoch, like
   * Flink's {@code ContinuousProcessingTimeTrigger}), for each window that changed since its last
   * firing.
   *
   * @throws IllegalArgumentException if {@code interval} is under a millisecond
   */
  static EarlyFiring every(Duration interval) {
    return new EveryInterval(interval);
  }

  /** See {@link #none()}. */
  final class None implements EarlyFiring {
    private static final None INSTANCE = new None();

    private None() {}

    @Override
    public String toString() {
      return "no early firing";
    }
  }

  /**
   * See {@link #everyCount(long)}.
   *
   * @param count events per early result, positive
   */
  record EveryCount(long count) implements EarlyFiring {
    public EveryCount {
      if (count <= 0) {
        throw new IllegalArgumentException("the early-firing count must be positive, got " + count);
      }
    }
  }

  /**
   * See {@link #every(Duration)}.
   *
   * @param interval processing time between early results, at least a millisecond
   */
  record EveryInterval(Duration interval) implements EarlyFiring {
    public EveryInterval {
      Objects.requireNonNull(interval, "interval");
      if (interval.toMillis() <= 0) {
        throw new IllegalArgumentException(
            "the early-firing interval must be at least 1ms, got " + Durations.format(interval));
      }
    }
  }
}
