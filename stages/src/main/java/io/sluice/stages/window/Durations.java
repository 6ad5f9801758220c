package io.sluice.stages.window;

import java.time.Duration;

/** Writes durations the way the pipeline spec does ({@code 500ms}, {@code 2s}, {@code 1m}). */
final class Durations {
  private static final long[] UNIT_MILLIS = {86_400_000L, 3_600_000L, 60_000L, 1_000L};
  private static final String[] UNIT_NAMES = {"d", "h", "m", "s"};

  private Durations() {}

  /** The largest spec unit that states {@code d} exactly; sub-millisecond parts are dropped. */
  static String format(Duration d) {
    long ms = d.toMillis();
    if (ms == 0) {
      return "0s";
    }
    for (int i = 0; i < UNIT_MILLIS.length; i++) {
      if (ms % UNIT_MILLIS[i] == 0) {
        return ms / UNIT_MILLIS[i] + UNIT_NAMES[i];
      }
    }
    return ms + "ms";
  }
}
