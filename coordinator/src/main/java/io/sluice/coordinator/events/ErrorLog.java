package io.sluice.coordinator.events;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The latest errors the coordinator observed, oldest first, at most {@link #CAPACITY}: older ones
 * are dropped, since the log is for what an operator looks at now (the coordinator's log keeps the
 * rest).
 *
 * <p>Thread-safe: gRPC callbacks, the liveness check and the coordinator thread record, admin
 * calls and the dashboard read; one lock.
 */
public final class ErrorLog {
  /** How many errors are kept. */
  public static final int CAPACITY = 200;

  private final Clock clock;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final ArrayDeque<ErrorEvent> events = new ArrayDeque<>();

  /** @param clock stamps each error with the wall time it was recorded at */
  public ErrorLog(Clock clock) {
    this.clock = clock;
  }

  /** Records an error now. */
  public void record(ErrorEvent.Kind kind, String source, String message) {
    ErrorEvent event = new ErrorEvent(clock.millis(), kind, source, message);
    synchronized (lock) {
      events.addLast(event);
      while (events.size() > CAPACITY) {
        events.removeFirst();
      }
    }
  }

  /** The latest {@code limit} errors, oldest first. */
  public List<ErrorEvent> latest(int limit) {
    synchronized (lock) {
      List<ErrorEvent> all = new ArrayList<>(events);
      return List.copyOf(all.subList(Math.max(0, all.size() - limit), all.size()));
    }
  }
}
