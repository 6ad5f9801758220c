package io.sluice.stages.window;

import java.time.Duration;

/**
 * Session windows: an event at {@code t} opens {@code [t, t + gap)}, and {@link WindowOperator}
 * merges it with every session of the same key it overlaps or touches (Flink's {@code
 * TimeWindow.intersects} counts {@code [a, b)} and {@code [b, c)} as intersecting), their
 * accumulators merged. A session therefore ends {@code gap} after its last event. As in Flink's
 * {@code EventTimeSessionWindows}. Immutable and thread-safe.
 */
public final class SessionWindows extends WindowAssigner {
  private final long gap;

  private SessionWindows(long gap) {
    this.gap = gap;
  }

  /**
   * Sessions that close after {@code gap} (whole milliseconds) without events.
   *
   * @throws IllegalArgumentException if {@code gap} is not positive
   */
  public static SessionWindows withGap(Duration gap) {
    return new SessionWindows(positiveMillis(gap, "the session gap"));
  }

  @Override
  public int maxWindowsPerEvent() {
    return 1;
  }

  @Override
  public int assignWindows(long timestamp, long[] starts) {
    Math.addExact(timestamp, gap);
    starts[0] = timestamp;
    return 1;
  }

  @Override
  public long windowSizeMillis() {
    return gap;
  }

  @Override
  public boolean isMerging() {
    return true;
  }

  @Override
  public String toString() {
    return "sessions with a gap of " + Durations.format(Duration.ofMillis(gap));
  }
}
