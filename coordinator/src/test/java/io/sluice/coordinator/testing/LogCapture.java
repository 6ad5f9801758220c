package io.sluice.coordinator.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects what one class logs through {@code System.Logger} (backed by java.util.logging), for
 * tests that check a log line. Close it to detach. Thread-safe.
 */
public final class LogCapture extends Handler implements AutoCloseable {
  private final Logger logger;
  private final List<String> lines = new CopyOnWriteArrayList<>();

  private LogCapture(Logger logger) {
    this.logger = logger;
  }

  public static LogCapture of(Class<?> type) {
    LogCapture capture = new LogCapture(Logger.getLogger(type.getName()));
    capture.setLevel(Level.ALL);
    capture.logger.addHandler(capture);
    return capture;
  }

  /** "LEVEL: message" of every record so far. */
  public List<String> lines() {
    return List.copyOf(lines);
  }

  @Override
  public void publish(LogRecord record) {
    lines.add(record.getLevel() + ": " + record.getMessage());
  }

  @Override
  public void flush() {}

  @Override
  public void close() {
    logger.removeHandler(this);
  }
}
