package io.sluice.stages.window;

/**
 * Decides which event-time windows an event belongs to, with Flink's alignment: windows align to
 * the epoch, and a window covers {@code [start, start + windowSizeMillis())}.
 *
 * <ul>
 *   <li>{@link TumblingWindows}: one window per event, {@code start = t - floorMod(t, size)};
 *   <li>{@link SlidingWindows}: every window {@code [k * slide, k * slide + size)} that contains
 *       the event;
 *   <li>{@link SessionWindows}: {@code [t, t + gap)}, which the operator merges with the key's
 *       sessions it overlaps or touches ({@link #isMerging()}).
 * </ul>
 *
 * <p>The assignment writes window starts into an array the caller owns instead of returning a
 * collection, so that the per-event path of {@link WindowOperator} allocates nothing.
 *
 * <p>Immutable and thread-safe.
 */
public abstract sealed class WindowAssigner permits TumblingWindows, SlidingWindows, SessionWindows {
  WindowAssigner() {}

  /** The most windows a single timestamp belongs to: the length {@link #assignWindows} needs. */
  public abstract int maxWindowsPerEvent();

  /**
   * Writes the start of every window that contains {@code timestamp} into {@code starts}, latest
   * start first; each window ends at {@code start + windowSizeMillis()}.
   *
   * @param starts at least {@link #maxWindowsPerEvent()} long
   * @return how many windows were written (at least one)
   * @throws ArithmeticException when a window containing {@code timestamp} would begin or end
   *     outside the range of {@code long} (a timestamp within one window size of the end of time)
   */
  public abstract int assignWindows(long timestamp, long[] starts);

  /** The length of the windows {@link #assignWindows} yields; for sessions, the gap. */
  public abstract long windowSizeMillis();

  /** Whether windows of one key that come to overlap or touch are merged into one (sessions). */
  public boolean isMerging() {
    return false;
  }

  static long positiveMillis(java.time.Duration d, String what) {
    long ms = d.toMillis();
    if (ms <= 0) {
      throw new IllegalArgumentException(what + " must be positive, got " + Durations.format(d));
    }
    return ms;
  }
}
