package io.sluice.stages.sink;

import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * {@code type: stdout-sink}: prints every event it receives as one JSON line ({@link
 * io.sluice.stages.format.JsonLines}, the same lines as {@code file-sink}) on the process's
 * standard output.
 *
 * <pre>
 * flush: 100ms   # optional (default 100ms): how often buffered lines are printed
 * </pre>
 *
 * <p>Lines are buffered and printed every {@code flush} and when the stage closes. Each print is
 * one write of whole lines, so operators sharing the process's standard output never split each
 * other's lines. Standard output itself is flushed, never closed.
 *
 * <p>Stateless and thread-safe; each operator it makes is confined to its subtask's thread.
 */
public final class StdoutSinkStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "stdout-sink";

  // Print early when this much is buffered, so a burst does not grow the buffer without bound.
  private static final int MAX_BUFFERED_CHARS = 64 * 1024;

  private final Supplier<? extends OutputStream> out;

  /** Prints to {@link System#out} (as it is when each operator starts). */
  public StdoutSinkStageFactory() {
    this(() -> System.out);
  }

  /** Prints to another stream; for tests. */
  StdoutSinkStageFactory(Supplier<? extends OutputStream> out) {
    this.out = Objects.requireNonNull(out, "out");
  }

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Role role() {
    return Role.SINK;
  }

  @Override
  public StageDefinition<String, byte[], byte[], byte[]> create(StageConfig config) {
    Duration flush = SinkSettings.flushInterval(config);
    return StageDefinition.of(
        Serdes.string(),
        Serdes.bytes(),
        Serdes.bytes(),
        Serdes.bytes(),
        () -> new JsonLinesSinkOperator(flush, context -> new StreamTarget(out.get())));
  }

  /** Buffers whole lines and hands them to the stream in one write. */
  private static final class StreamTarget implements LineTarget {
    private final OutputStream stream;
    private final StringBuilder buffer = new StringBuilder();

    StreamTarget(OutputStream stream) {
      this.stream = stream;
    }

    @Override
    public void writeLine(String line) throws IOException {
      buffer.append(line).append('\n');
      if (buffer.length() >= MAX_BUFFERED_CHARS) {
        flush();
      }
    }

    @Override
    public void flush() throws IOException {
      if (buffer.length() > 0) {
        byte[] bytes = buffer.toString().getBytes(StandardCharsets.UTF_8);
        buffer.setLength(0);
        stream.write(bytes);
      }
      stream.flush();
    }

    @Override
    public void close() throws IOException {
      flush(); // never close standard output: other stages of the process still print to it
    }

    @Override
    public String toString() {
      return "standard output";
    }
  }
}
