package io.sluice.coordinator.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A scheduler on a {@link FakeTicker}: {@link #execute} runs the task at once on the caller's
 * thread; timed tasks run, in time order, on the thread that calls {@link #advance}. So a test is
 * one thread and time moves only when it says. Not thread-safe: confined to the test's thread.
 */
public final class FakeScheduler extends AbstractExecutorService
    implements ScheduledExecutorService {
  private final FakeTicker ticker;
  private final List<Task<?>> tasks = new ArrayList<>();
  private long sequence;
  private boolean shutdown;

  public FakeScheduler(FakeTicker ticker) {
    this.ticker = ticker;
  }

  /** Moves time forward by {@code d}, running every timed task that falls due, in time order. */
  public void advance(Duration d) {
    long end = ticker.getAsLong() + d.toNanos();
    while (true) {
      Task<?> next = tasks.stream()
          .filter(t -> !t.isCancelled() && t.dueNanos <= end)
          .min(Comparator.comparingLong((Task<?> t) -> t.dueNanos).thenComparingLong(t -> t.seq))
          .orElse(null);
      if (next == null) {
        break;
      }
      tasks.remove(next);
      if (next.dueNanos > ticker.getAsLong()) {
        ticker.advance(Duration.ofNanos(next.dueNanos - ticker.getAsLong()));
      }
      next.fire();
    }
    tasks.removeIf(Task::isCancelled);
    if (end > ticker.getAsLong()) {
      ticker.advance(Duration.ofNanos(end - ticker.getAsLong()));
    }
  }

  /** Timed tasks not yet run or cancelled. */
  public int scheduledCount() {
    return (int) tasks.stream().filter(t -> !t.isCancelled()).count();
  }

  @Override
  public void execute(Runnable command) {
    if (shutdown) {
      throw new RejectedExecutionException("the fake scheduler is shut down");
    }
    command.run();
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return add(new Task<Void>(() -> {
      command.run();
      return null;
    }, due(delay, unit), 0));
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    return add(new Task<>(callable, due(delay, unit), 0));
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    return scheduleWithFixedDelay(command, initialDelay, period, unit);
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    return add(new Task<Void>(() -> {
      command.run();
      return null;
    }, due(initialDelay, unit), unit.toNanos(delay)));
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }

  @Override
  public List<Runnable> shutdownNow() {
    shutdown = true;
    tasks.clear();
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return shutdown;
  }

  @Override
  public boolean isTerminated() {
    return shutdown;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return shutdown;
  }

  private long due(long delay, TimeUnit unit) {
    return ticker.getAsLong() + unit.toNanos(Math.max(0, delay));
  }

  private <V> Task<V> add(Task<V> task) {
    tasks.add(task);
    return task;
  }

  /** A timed task; periodic when {@code periodNanos > 0}. */
  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    final long seq = sequence++;
    final long periodNanos;
    long dueNanos;

    Task(Callable<V> callable, long dueNanos, long periodNanos) {
      super(callable);
      this.dueNanos = dueNanos;
      this.periodNanos = periodNanos;
    }

    void fire() {
      if (periodNanos == 0) {
        run();
      } else if (runAndReset()) {
        dueNanos = ticker.getAsLong() + periodNanos;
        tasks.add(this);
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(dueNanos - ticker.getAsLong(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
    }
  }
}
