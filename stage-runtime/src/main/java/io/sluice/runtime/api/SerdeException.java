package io.sluice.runtime.api;

/** Bytes that a {@link Serde} cannot decode, or a value it cannot encode. */
public class SerdeException extends RuntimeException {
  public SerdeException(String message, Throwable cause) {
    super(message, cause);
  }

  public SerdeException(String message) {
    super(message);
  }
}
