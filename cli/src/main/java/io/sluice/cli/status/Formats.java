package io.sluice.cli.status;

import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Partitioning;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.util.Locale;

/** Small value formatters shared by the status table, the JSON and the live status line. */
public final class Formats {
  // Instant.toString() drops a zero fraction ("…:05Z"); watermarks read better aligned in columns.
  private static final DateTimeFormatter ISO_MILLIS =
      new DateTimeFormatterBuilder().appendInstant(3).toFormatter(Locale.ROOT);

  private Formats() {}

  /**
   * {@code RUNNING}, {@code DEAD}…: the enum value without its {@code INSTANCE_STATE_} prefix, in
   * capitals like the enum, so an instance's state stands out from the pipeline's (lower case)
   * state.
   */
  public static String state(InstanceState state) {
    if (state == InstanceState.UNRECOGNIZED) {
      return "UNKNOWN";
    }
    return state.name().substring("INSTANCE_STATE_".length());
  }

  /** {@code hash}, {@code round_robin}… */
  public static String partitioning(Partitioning p) {
    if (p == Partitioning.UNRECOGNIZED) {
      return "unknown";
    }
    return p.name().substring("PARTITIONING_".length()).toLowerCase(Locale.ROOT);
  }

  /** {@code host:port}, or empty when the endpoint is unset. */
  public static String address(Endpoint e) {
    if (e.getHost().isEmpty() && e.getPort() == 0) {
      return "";
    }
    String host = e.getHost().contains(":") ? "[" + e.getHost() + "]" : e.getHost();
    return host + ":" + e.getPort();
  }

  /** A rate for a narrow column: {@code 950}, {@code 12.3k}, {@code 4.56M}. */
  public static String rate(double perSecond) {
    if (perSecond >= 1e6) {
      return String.format(Locale.ROOT, "%.2fM", perSecond / 1e6);
    }
    if (perSecond >= 1e4) {
      return String.format(Locale.ROOT, "%.1fk", perSecond / 1e3);
    }
    if (perSecond >= 10) {
      return String.format(Locale.ROOT, "%.0f", perSecond);
    }
    return String.format(Locale.ROOT, "%.1f", perSecond);
  }

  /** A ratio in [0, 1] as a whole percentage. */
  public static String percent(double ratio) {
    return String.format(Locale.ROOT, "%.0f%%", ratio * 100);
  }

  /** Milliseconds as {@code 0.4 s}, {@code 12 s}, {@code 3.5 min}. */
  public static String age(long millis) {
    if (millis < 0) {
      return "-";
    }
    if (millis < 10_000) {
      return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
    if (millis < 120_000) {
      return String.format(Locale.ROOT, "%d s", millis / 1000);
    }
    return String.format(Locale.ROOT, "%.1f min", millis / 60_000.0);
  }

  /**
   * An event-time watermark as an ISO-8601 UTC instant, always with milliseconds ({@code
   * 2026-01-01T00:00:05.000Z}); {@code -} when unknown (INT64_MIN); {@code end} for INT64_MAX, the
   * watermark of an input that has ended.
   */
  public static String watermark(long millis) {
    if (millis == Long.MIN_VALUE) {
      return "-";
    }
    return millis == Long.MAX_VALUE ? "end" : ISO_MILLIS.format(Instant.ofEpochMilli(millis));
  }

  /** Bytes with a binary unit: {@code 512 B}, {@code 34.0 KiB}, {@code 1.2 MiB}. */
  public static String bytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
    if (bytes < 1024L * 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }
    return String.format(Locale.ROOT, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  }
}
