package io.sluice.coordinator.recovery;

/**
 * The pipeline's current restore epoch, which every route update carries: 0 when checkpoints
 * are off, 1 from a fresh start, one higher (at least) with every restore. Only the {@link
 * RecoveryCoordinator} moves it.
 *
 * <p>Thread-safe: a volatile value, read without locks (the route computer reads it under its
 * own lock).
 */
public final class Epoch {
  private volatile long value;

  public Epoch(long initial) {
    this.value = initial;
  }

  public long get() {
    return value;
  }

  void set(long epoch) {
    value = epoch;
  }
}
