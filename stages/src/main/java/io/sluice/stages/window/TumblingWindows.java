package io.sluice.stages.window;

import java.time.Duration;

/**
 * Fixed, non-overlapping windows of one size, aligned to the epoch: an event at {@code t} falls in
 * {@code [t - floorMod(t, size), t - floorMod(t, size) + size)}, as in Flink's {@code
 * TumblingEventTimeWindows} without offset. Immutable and thread-safe.
 */
public final class TumblingWindows extends WindowAssigner {
  private final long size;

  private TumblingWindows(long size) {
    this.size = size;
  }

  /**
   * Tumbling windows of {@code size} (whole milliseconds).
   *
   * @throws IllegalArgumentException if {@code size} is not positive
   */
  public static TumblingWindows of(Duration size) {
    return new TumblingWindows(positiveMillis(size, "the window size"));
  }

  @Override
  public int maxWindowsPerEvent() {
    return 1;
  }

  @Override
  public int assignWindows(long timestamp, long[] starts) {
    long start = Math.subtractExact(timestamp, Math.floorMod(timestamp, size));
    Math.addExact(start, size); // the end must exist too
    starts[0] = start;
    return 1;
  }

  @Override
  public long windowSizeMillis() {
    return size;
  }

  @Override
  public String toString() {
    return "tumbling " + Durations.format(Duration.ofMillis(size));
  }
}
