package io.sluice.runtime.internal.trace.otlp;

import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The log lines about dropped exports, at most one WARNING per {@link #INTERVAL}: a collector
 * that stays down would otherwise log a line per batch, many a second on a busy stage. The first
 * drop is logged at once; drops within the interval after a warning are counted, and the next
 * warning says how many there were; the first success after unlogged drops says so at INFO.
 *
 * <p>Threading: thread-safe (one lock, held only to update the counts).
 */
final class DropWarnings {
  static final Duration INTERVAL = Duration.ofSeconds(30);

  private final Logger log;
  private final String destination;
  private final LongSupplier nanoTime;
  // Guarded by this.
  private boolean warned;
  private long lastWarningNanos;
  private long unloggedRequests;
  private long unloggedBytes;

  DropWarnings(Logger log, String destination, LongSupplier nanoTime) {
    this.log = log;
    this.destination = destination;
    this.nanoTime = nanoTime;
  }

  /** A request was dropped; {@code message} says where, why and how many bytes. */
  void dropped(String message, int bytes) {
    long requests;
    long more;
    synchronized (this) {
      long now = nanoTime.getAsLong();
      if (warned && now - lastWarningNanos < INTERVAL.toNanos()) {
        unloggedRequests++;
        unloggedBytes += bytes;
        return;
      }
      warned = true;
      lastWarningNanos = now;
      requests = unloggedRequests;
      more = unloggedBytes;
      unloggedRequests = 0;
      unloggedBytes = 0;
    }
    log.log(Level.WARNING, requests == 0 ? message
        : message + " (and " + requests + " more requests, " + more + " bytes of spans, dropped since the last"
            + " such warning; at most one warning every " + INTERVAL.toSeconds() + " s)");
  }

  /** A request was delivered. */
  void delivered() {
    long requests;
    long bytes;
    synchronized (this) {
      if (unloggedRequests == 0) {
        return;
      }
      requests = unloggedRequests;
      bytes = unloggedBytes;
      unloggedRequests = 0;
      unloggedBytes = 0;
    }
    log.log(Level.INFO, "Exports to the " + destination + " succeed again; " + requests + " more requests ("
        + bytes + " bytes of spans) were dropped after the last warning");
  }
}
