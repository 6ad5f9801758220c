package io.sluice.coordinator.checkpoint;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one thread the checkpoint and recovery coordinators run on: reports handed over from gRPC
 * callbacks, timeouts and the periodic trigger, one at a time and in order. Store I/O happens
 * here, never on a transport thread. A task's failure is logged (an executor would swallow it)
 * and a periodic task keeps its schedule after one.
 *
 * <p>Thread-safe. In production it wraps a single-threaded {@link ScheduledExecutorService};
 * tests give one that runs posted work at once and timed work when a fake clock moves.
 */
public final class CoordinatorThread {
  private static final System.Logger LOG = System.getLogger(CoordinatorThread.class.getName());

  private final ScheduledExecutorService executor;

  /** @param executor must run one task at a time, in order (single-threaded) */
  public CoordinatorThread(ScheduledExecutorService executor) {
    this.executor = executor;
  }

  /**
   * Runs {@code task} on the thread.
   *
   * @param what names the task in the log should it fail
   * @return false when the coordinator is shutting down and the task was dropped
   */
  public boolean post(String what, Runnable task) {
    try {
      executor.execute(logged(what, task));
      return true;
    } catch (RejectedExecutionException e) {
      LOG.log(System.Logger.Level.DEBUG, () -> "coordinator shutting down; dropped " + what);
      return false;
    }
  }

  /** Runs {@code task} on the thread after {@code delay}; cancel the returned future. */
  public ScheduledFuture<?> schedule(String what, Runnable task, Duration delay) {
    return executor.schedule(logged(what, task), delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Runs {@code task} on the thread every {@code period}, the first time after one period. */
  public ScheduledFuture<?> every(String what, Runnable task, Duration period) {
    long millis = Math.max(1, period.toMillis());
    return executor.scheduleWithFixedDelay(
        logged(what, task), millis, millis, TimeUnit.MILLISECONDS);
  }

  private static Runnable logged(String what, Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.ERROR, what + " failed", e);
      }
    };
  }
}
