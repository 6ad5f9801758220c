package io.sluice.stages.enrich;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;

/** Durations as people read them in messages: "250 ms", "2 s", "1.5 s", "30.2 s". */
final class Durations {
  private Durations() {}

  /** A setting-like duration: milliseconds below a second, else seconds without trailing zeros. */
  static String describe(Duration d) {
    long ms = d.toMillis();
    if (ms < 1_000) {
      return ms + " ms";
    }
    return BigDecimal.valueOf(ms, 3).stripTrailingZeros().toPlainString() + " s";
  }

  /** An elapsed time in seconds with one decimal, e.g. "30.2 s". */
  static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
  }
}
