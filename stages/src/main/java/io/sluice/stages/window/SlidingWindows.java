package io.sluice.stages.window;

import java.time.Duration;

/**
 * Overlapping windows of one size that start every {@code slide}, aligned to the epoch: an event
 * at {@code t} belongs to every window {@code [k * slide, k * slide + size)} that contains it, as
 * in Flink's {@code SlidingEventTimeWindows} without offset. Immutable and thread-safe.
 */
public final class SlidingWindows extends WindowAssigner {
  /**
   * The most windows one event may belong to ({@code size / slide}, rounded up). Every event is
   * added to each of its windows, so a ratio beyond this is a mistake rather than a workload (one
   * day every millisecond would be 86.4 million accumulators per event).
   */
  public static final int MAX_WINDOWS_PER_EVENT = 10_000;

  private final long size;
  private final long slide;
  private final int maxWindows;

  private SlidingWindows(long size, long slide, int maxWindows) {
    this.size = size;
    this.slide = slide;
    this.maxWindows = maxWindows;
  }

  /**
   * Sliding windows of {@code size} starting every {@code slide} (whole milliseconds).
   *
   * @throws IllegalArgumentException if either is not positive, if {@code slide > size} (events
   *     would fall between windows), or if an event would belong to more than {@link
   *     #MAX_WINDOWS_PER_EVENT} windows
   */
  public static SlidingWindows of(Duration size, Duration slide) {
    long sizeMs = positiveMillis(size, "the window size");
    long slideMs = positiveMillis(slide, "the slide");
    if (slideMs > sizeMs) {
      throw new IllegalArgumentException(
          "the slide must not exceed the window size ("
              + Durations.format(size)
              + "), got "
              + Durations.format(slide)
              + "; events would fall between windows");
    }
    long windows = (sizeMs - 1) / slideMs + 1; // size / slide rounded up, without overflow
    if (windows > MAX_WINDOWS_PER_EVENT) {
      throw new IllegalArgumentException(
          "a size of "
              + Durations.format(size)
              + " with a slide of "
              + Durations.format(slide)
              + " puts every event in "
              + windows
              + " windows; at most "
              + MAX_WINDOWS_PER_EVENT
              + " are allowed (use a longer slide)");
    }
    return new SlidingWindows(sizeMs, slideMs, (int) windows);
  }

  @Override
  public int maxWindowsPerEvent() {
    return maxWindows;
  }

  @Override
  public int assignWindows(long timestamp, long[] starts) {
    long offset = Math.floorMod(timestamp, slide);
    long lastStart = Math.subtractExact(timestamp, offset);
    Math.addExact(lastStart, size); // the latest window's end must exist
    // Windows [lastStart - i * slide, ... + size) contain the timestamp while i * slide + offset < size.
    int n = (int) ((size - offset - 1) / slide + 1);
    long start = lastStart;
    for (int i = 0; i < n; i++) {
      starts[i] = start;
      if (i + 1 < n) {
        start = Math.subtractExact(start, slide);
      }
    }
    return n;
  }

  @Override
  public long windowSizeMillis() {
    return size;
  }

  /** The distance between the starts of consecutive windows, in milliseconds. */
  public long slideMillis() {
    return slide;
  }

  @Override
  public String toString() {
    return "sliding " + Durations.format(Duration.ofMillis(size)) + " every " + Durations.format(Duration.ofMillis(slide));
  }
}
