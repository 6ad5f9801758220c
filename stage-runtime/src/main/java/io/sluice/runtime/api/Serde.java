package io.sluice.runtime.api;

/**
 * Turns a key or value into the bytes of an event and back. Implementations must be thread-safe
 * (one instance may serve several subtasks) and should not keep per-call state.
 *
 * @param <T> the type it handles
 */
public interface Serde<T> {
  /** Encodes a value; null encodes as empty bytes by convention of the built-in serdes. */
  byte[] serialize(T value);

  /**
   * Decodes bytes from an event.
   *
   * @throws SerdeException when the bytes are not a valid encoding; the runtime sends the event to
   *     the dead-letter output with the exception's message
   */
  T deserialize(byte[] bytes);

  /**
   * Decodes {@code length} bytes of {@code buffer} from {@code offset}, which the caller does not
   * change afterwards. The default copies the range; serdes that can read in place (text, JSON)
   * override it to save the copy on the runtime's hot path.
   */
  default T deserialize(byte[] buffer, int offset, int length) {
    return deserialize(java.util.Arrays.copyOfRange(buffer, offset, offset + length));
  }

  /** The media type written to {@code Event.content_type}; "" for none. */
  default String contentType() {
    return "";
  }
}
