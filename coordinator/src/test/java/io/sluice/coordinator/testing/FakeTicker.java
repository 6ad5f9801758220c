package io.sluice.coordinator.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** A nanosecond clock that moves only when told to. Thread-safe. */
public final class FakeTicker implements LongSupplier {
  /** What {@link #clock()} shows at the start: 2026-01-01T00:00:00Z. */
  public static final long EPOCH_MILLIS_AT_START = 1_767_225_600_000L;

  private static final long START_NANOS = 1_000_000_000L;
  private final AtomicLong nanos = new AtomicLong(START_NANOS);

  @Override
  public long getAsLong() {
    return nanos.get();
  }

  public void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  /** Wall time that moves with this ticker, from {@link #EPOCH_MILLIS_AT_START}. */
  public Clock clock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a fake clock stays in UTC");
      }

      @Override
      public Instant instant() {
        return Instant.ofEpochMilli(
            EPOCH_MILLIS_AT_START + Math.floorDiv(nanos.get() - START_NANOS, 1_000_000L));
      }
    };
  }
}
