package io.sluice.runtime.internal.task;

import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * The subtask's mailbox: actions posted from any thread, timers, and a wake-up signal, all drained
 * by the one owner thread. Operators and routing state are confined to that thread, so they need
 * no locks.
 *
 * <p>Threading: {@link #execute} and {@link #wakeup} may be called from any thread and never block.
 * Everything else is for the owner thread only.
 */
public final class Mailbox {
  private final ConcurrentLinkedQueue<Runnable> actions = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean signal = new AtomicBoolean();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private final LongSupplier nanoTime;
  private volatile Thread owner;
  private long timerSeq;

  public Mailbox(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /** Binds the mailbox to the calling thread; call first thing on the owner thread. */
  public void bindToCurrentThread() {
    owner = Thread.currentThread();
  }

  public boolean isOwnerThread() {
    return Thread.currentThread() == owner;
  }

  /** Posts an action to run on the owner thread. Safe from any thread. */
  public void execute(Runnable action) {
    actions.add(action);
    wakeup();
  }

  /**
   * Tells the owner thread something changed (input arrived, an output became ready). Cheap when
   * the owner is already awake; spurious calls are harmless.
   */
  public void wakeup() {
    if (!signal.getAndSet(true)) {
      Thread t = owner;
      if (t != null) {
        LockSupport.unpark(t);
      }
    }
  }

  /** Schedules {@code task} on the owner thread at {@code deadlineNanos}. Owner thread only. */
  public Timer schedule(long deadlineNanos, Runnable task) {
    Timer t = new Timer(deadlineNanos, timerSeq++, task);
    timers.add(t);
    return t;
  }

  public long nanoTime() {
    return nanoTime.getAsLong();
  }

  /** Runs posted actions and due timers. Returns true if it ran anything. Owner thread only. */
  public boolean runPending() {
    boolean ran = false;
    Runnable a;
    while ((a = actions.poll()) != null) {
      a.run();
      ran = true;
    }
    long now = nanoTime.getAsLong();
    Timer t;
    while ((t = timers.peek()) != null && t.deadline <= now) {
      timers.poll();
      if (!t.cancelled) {
        t.task.run();
        ran = true;
      }
    }
    return ran;
  }

  /**
   * Parks the owner thread until woken or until the next timer is due (or {@code maxWaitNanos}).
   * The signal is consumed on return, so the caller must re-check for work after every return.
   */
  public void await(long maxWaitNanos) {
    if (!actions.isEmpty()) {
      signal.set(false);
      return;
    }
    long now = nanoTime.getAsLong();
    long deadline = now + maxWaitNanos;
    Timer next = timers.peek();
    while (next != null && next.cancelled) {
      timers.poll();
      next = timers.peek();
    }
    if (next != null && next.deadline < deadline) {
      deadline = next.deadline;
    }
    while (!signal.get()) {
      long wait = deadline - nanoTime.getAsLong();
      if (wait <= 0) {
        break;
      }
      LockSupport.parkNanos(this, wait);
    }
    signal.set(false);
  }

  /** A scheduled task; cancel it from the owner thread. */
  public static final class Timer implements Comparable<Timer> {
    final long deadline;
    final long seq;
    final Runnable task;
    boolean cancelled;

    Timer(long deadline, long seq, Runnable task) {
      this.deadline = deadline;
      this.seq = seq;
      this.task = task;
    }

    public void cancel() {
      cancelled = true;
    }

    @Override
    public int compareTo(Timer o) {
      int c = Long.compare(deadline, o.deadline);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }
  }
}
