package io.sluice.runtime.internal.task;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * One input of a subtask: a bounded queue that a transport thread fills and the subtask drains.
 *
 * <p>Credit-based: the transport asks its peer for exactly as many messages as the queue has free
 * slots ({@link #credits()} at the start, then one per {@link #release()}), so {@link #offer}
 * never finds the queue full unless the peer breaks the protocol.
 *
 * <p>Threading: {@link #offer}, {@link #fail} and {@link #transportClosed} are called by one
 * transport thread at a time (gRPC serializes a call's callbacks); {@link #poll} and {@link
 * #release} by the subtask thread.
 */
public abstract class InputChannel {
  private final String name;
  private final int credits;
  private final ArrayBlockingQueue<Object> queue;
  private final Mailbox mailbox;
  private volatile Throwable failure;

  protected InputChannel(String name, int credits, Mailbox mailbox) {
    this.name = name;
    this.credits = credits;
    this.queue = new ArrayBlockingQueue<>(credits);
    this.mailbox = mailbox;
  }

  /** For logs and errors, e.g. "map-0 → count-1". */
  public String name() {
    return name;
  }

  public int credits() {
    return credits;
  }

  /** Queues an item from the transport and wakes the subtask. */
  public void offer(Object item) {
    if (!queue.offer(item)) {
      // Cannot happen while the peer honours the credits we granted.
      fail(new IllegalStateException(name + ": peer sent more messages than it was granted"));
      return;
    }
    mailbox.wakeup();
  }

  /** The transport broke; the subtask sees it after the queued items. */
  public void fail(Throwable t) {
    failure = t;
    mailbox.wakeup();
  }

  /** The next item, or null. Subtask thread only. */
  public Object poll() {
    return queue.poll();
  }

  public boolean hasItems() {
    return !queue.isEmpty();
  }

  public int depth() {
    return queue.size();
  }

  /** The transport failure, once every queued item has been taken; else null. */
  public Throwable failureAfterDrain() {
    return queue.isEmpty() ? failure : null;
  }

  /** One item has been processed: grant the peer one more message. Subtask thread. */
  public abstract void release();

  /** The end of this channel was processed: acknowledge it to the peer. Subtask thread. */
  public abstract void acknowledgeEnd(long eventsReceived);

  /** Drop the channel: the peer is told with the given status description. Any thread. */
  public abstract void abort(String reason);

  @Override
  public String toString() {
    return name;
  }
}
