package io.sluice.runtime.api;

/** A handle to a scheduled callback. */
@FunctionalInterface
public interface Cancellable {
  /** Stops further calls; idempotent. */
  void cancel();
}
