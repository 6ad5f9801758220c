package io.sluice.stages.sink;

import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.stages.format.JsonLines;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/**
 * Writes each record as a JSON line to a {@link LineTarget}, flushes it every {@code
 * flushInterval} and on close. Thread-confined to its subtask. The key arrives as text and the
 * payload as raw bytes, so dead letters (whose payload need not be JSON) are written too.
 */
final class JsonLinesSinkOperator implements Operator<String, byte[], byte[], byte[]> {
  private final Duration flushInterval;
  private final LineTarget.Opener opener;
  private LineTarget target;

  JsonLinesSinkOperator(Duration flushInterval, LineTarget.Opener opener) {
    this.flushInterval = flushInterval;
    this.opener = opener;
  }

  @Override
  public void init(OperatorContext<byte[], byte[]> context) {
    try {
      target = opener.open(context);
    } catch (IOException e) {
      throw new UncheckedIOException("sink " + context.instanceId() + " cannot open its output: " + e.getMessage(), e);
    }
    context.schedule(flushInterval, this::flush);
  }

  @Override
  public void process(Record<String, byte[]> record) {
    String line = JsonLines.format(record.id(), record.key(), record.timestamp(), record.value(), record.attributes());
    try {
      target.writeLine(line);
    } catch (IOException e) {
      // Thrown from process(): the runtime dead-letters the event with this message.
      throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
    }
  }

  private void flush() {
    try {
      target.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot flush " + target + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (target == null) {
      return;
    }
    try {
      target.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + target + ": " + e.getMessage(), e);
    }
  }
}
