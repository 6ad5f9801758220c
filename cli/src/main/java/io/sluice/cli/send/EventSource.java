package io.sluice.cli.send;

import io.sluice.proto.v1.Event;
import java.io.Closeable;
import java.io.IOException;

/**
 * Where a {@link Publisher} takes events from, in sequence order. Thread-compatible: the publisher
 * calls it from its one sender thread.
 */
public interface EventSource extends Closeable {
  /**
   * The next event, or {@code null} when there are no more.
   *
   * @throws BadInputException when the next input cannot be turned into an event; the publisher
   *     stops reading and does not call this method again
   * @throws IOException when the input cannot be read
   */
  Event next() throws BadInputException, IOException;

  @Override
  default void close() throws IOException {}
}
