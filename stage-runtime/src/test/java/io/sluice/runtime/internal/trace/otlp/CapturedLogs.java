package io.sluice.runtime.internal.trace.otlp;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * The java.util.logging records of this package while open, for tests that check what an operator
 * would read.
 *
 * <p>Threading: thread-safe; records may arrive from transport threads.
 */
final class CapturedLogs implements AutoCloseable {
  // Held here: JUL keeps only weak references to loggers, and would drop the handler with it.
  private final Logger logger = Logger.getLogger(OtlpSender.class.getPackageName());
  private final List<LogRecord> records = new CopyOnWriteArrayList<>();
  private final Handler handler = new Handler() {
    @Override
    public void publish(LogRecord record) {
      records.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };

  CapturedLogs() {
    handler.setLevel(Level.ALL);
    logger.addHandler(handler);
  }

  /** The messages logged at WARNING or above so far. */
  List<String> warnings() {
    return records.stream()
        .filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue())
        .map(LogRecord::getMessage)
        .collect(Collectors.toList());
  }

  /** The messages logged at INFO exactly so far. */
  List<String> infos() {
    return records.stream()
        .filter(r -> r.getLevel() == Level.INFO)
        .map(LogRecord::getMessage)
        .collect(Collectors.toList());
  }

  @Override
  public void close() {
    logger.removeHandler(handler);
  }
}
