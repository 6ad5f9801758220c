package io.sluice.runtime.internal.metrics;

/**
 * Counters of one subtask. Written by the subtask thread only (volatile fields with a single
 * writer), except bytes in, which the transport counts as it reads (see {@link #wireBytesIn});
 * read by any thread (the heartbeat reporter).
 */
public final class TaskMetrics {
  private volatile long recordsIn;
  private volatile long recordsOut;
  private final java.util.concurrent.atomic.LongAdder bytesIn = new java.util.concurrent.atomic.LongAdder();
  private volatile long bytesOut;
  private volatile long deadLetters;
  private volatile long lost;
  private volatile long busyNanos;
  private volatile long backpressuredNanos;
  private volatile long idleNanos;
  private volatile int inboxDepth;

  /** Events taken from an input. */
  public void received(int events) {
    recordsIn += events;
  }

  /**
   * Serialized bytes read from an input stream, as the transport saw them (any thread): counted by
   * a gRPC stream tracer, so nobody walks a message again just to measure it.
   */
  public void wireBytesIn(long bytes) {
    bytesIn.add(bytes);
  }

  public void sent(int events, long bytes) {
    recordsOut += events;
    bytesOut += bytes;
  }

  public void deadLettered() {
    deadLetters++;
  }

  /** Events that could not be sent because their channel had failed. */
  public void lost(int events) {
    lost += events;
  }

  public void busy(long nanos) {
    busyNanos += nanos;
  }

  public void backpressured(long nanos) {
    backpressuredNanos += nanos;
  }

  public void idle(long nanos) {
    idleNanos += nanos;
  }

  public void inboxDepth(int depth) {
    inboxDepth = depth;
  }

  public long recordsIn() {
    return recordsIn;
  }

  public long recordsOut() {
    return recordsOut;
  }

  public long bytesIn() {
    return bytesIn.sum();
  }

  public long bytesOut() {
    return bytesOut;
  }

  public long deadLetters() {
    return deadLetters;
  }

  public long lost() {
    return lost;
  }

  public long busyMillis() {
    return busyNanos / 1_000_000;
  }

  public long backpressuredMillis() {
    return backpressuredNanos / 1_000_000;
  }

  public long idleMillis() {
    return idleNanos / 1_000_000;
  }

  public int inboxDepth() {
    return inboxDepth;
  }
}
