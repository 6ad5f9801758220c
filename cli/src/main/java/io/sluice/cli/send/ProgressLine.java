package io.sluice.cli.send;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Shows a publisher's progress on the terminal: events sent, acked, the current rate, and after
 * the stream broke the reconnects, resent events and duplicates dropped, redrawn in place four
 * times a second (or printed as a plain line every five seconds when the output is
 * not a terminal). Runs on its own daemon thread; {@link #close()} stops it and ends the line.
 */
final class ProgressLine implements AutoCloseable {
  private final Publisher publisher;
  private final PrintWriter err;
  private final boolean terminal;
  private final ScheduledExecutorService timer;
  private long lastSent;
  private long lastNanos = System.nanoTime();
  private boolean drawn;
  private boolean closed;

  ProgressLine(Publisher publisher, PrintWriter err, boolean terminal) {
    this.publisher = publisher;
    this.err = err;
    this.terminal = terminal;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "sluice-send-progress");
              t.setDaemon(true);
              return t;
            });
    long periodMillis = terminal ? 250 : 5000;
    timer.scheduleAtFixedRate(this::draw, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
  }

  private synchronized void draw() {
    if (closed) {
      return;
    }
    Publisher.Progress p = publisher.progress();
    long now = System.nanoTime();
    double rate = (p.sent() - lastSent) / Math.max(1e-9, (now - lastNanos) / 1e9);
    lastSent = p.sent();
    lastNanos = now;
    StringBuilder extra = new StringBuilder();
    if (p.reconnects() > 0 || p.duplicatesDropped() > 0) {
      extra.append(
          String.format(
              Locale.ROOT,
              "  reconnects %,d  resent %,d  duplicates dropped %,d",
              p.reconnects(),
              p.resent(),
              p.duplicatesDropped()));
    }
    if (p.reconnecting()) {
      extra.append("  (reconnecting after ").append(p.lastFailure()).append(')');
    } else if (p.waitingForReady()) {
      extra.append("  (backpressured)");
    }
    String line =
        String.format(
            Locale.ROOT,
            "sent %,d  acked %,d  %,.0f events/s%s",
            p.sent(),
            p.ackedThrough(),
            rate,
            extra);
    if (terminal) {
      err.print("\r" + line + "\033[K");
      drawn = true;
    } else {
      err.println(line);
    }
    err.flush();
  }

  @Override
  public synchronized void close() {
    closed = true;
    timer.shutdownNow();
    if (drawn) {
      err.print("\r\033[K");
      err.flush();
    }
  }
}
