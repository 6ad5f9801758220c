package io.sluice.stages.sink;

import io.sluice.runtime.api.OperatorContext;
import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;

/**
 * Where a sink's lines go. Buffered: {@link #flush} makes what was written visible. Confined to the
 * sink operator's thread.
 */
interface LineTarget extends Flushable, Closeable {
  /** Appends one line; {@code line} has no line break. */
  void writeLine(String line) throws IOException;

  /** Opens a sink instance's target when its operator starts. */
  @FunctionalInterface
  interface Opener {
    LineTarget open(OperatorContext<?, ?> context) throws IOException;
  }
}
