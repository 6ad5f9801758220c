package io.sluice.bench.mesh;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread that takes a given share of the machine's CPU while a run goes on and does nothing
 * useful: with {@code --cpu-load 0.05} it spins in bursts of at most 10 ms so that its CPU time
 * stays at 5% of the machine's (on two cores, 0.1 s of CPU a second), and parks in between. It answers "what does the pipeline lose when something
 * else takes that much CPU": the reference against which tracing's cost is read, since tracing's
 * own threads (the exporters, the receiver) take CPU in the same way.
 *
 * <p>Threading: start and stop from one thread; the load runs on its own daemon thread.
 */
final class CpuLoad {
  private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private final double share;
  private final Thread thread;
  private volatile boolean stop;
  private volatile long cpuNanos;
  private long startNanos;

  private CpuLoad(double share) {
    if (share <= 0 || share >= 1) {
      throw new IllegalArgumentException("--cpu-load is a share of the machine's CPU, above 0 and below 1, not "
          + share);
    }
    this.share = share;
    this.thread = new Thread(this::spin, "cpu-load");
    thread.setDaemon(true);
  }

  /** Starts taking {@code share} of the machine's CPU; null when {@code share} is null. */
  static CpuLoad start(Double share) {
    if (share == null) {
      return null;
    }
    CpuLoad load = new CpuLoad(share);
    load.startNanos = System.nanoTime();
    load.thread.start();
    return load;
  }

  /**
   * Keeps the thread's CPU time at {@code share} of the machine's since the start: spins (by its
   * own CPU clock, so time the scheduler takes away is not counted) while it is behind, at most
   * one period at a time, and parks while it is ahead.
   */
  private void spin() {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    double rate = share * Runtime.getRuntime().availableProcessors(); // CPU seconds per second
    long wallStart = System.nanoTime();
    long cpuStart = mx.getCurrentThreadCpuTime();
    while (!stop) {
      long used = mx.getCurrentThreadCpuTime() - cpuStart;
      long behind = (long) (rate * (System.nanoTime() - wallStart)) - used;
      if (behind > 0) {
        long until = used + Math.min(behind, PERIOD_NANOS);
        while (mx.getCurrentThreadCpuTime() - cpuStart < until) {
          Thread.onSpinWait();
        }
      } else {
        LockSupport.parkNanos(Math.min(PERIOD_NANOS, (long) (-behind / rate) + 1));
      }
      cpuNanos = mx.getCurrentThreadCpuTime() - cpuStart;
    }
  }

  /** Stops {@code load} (if any) and prints the CPU it took, as a share of the machine over its time. */
  static void stop(CpuLoad load) {
    if (load != null) {
      load.stop();
    }
  }

  private void stop() {
    stop = true;
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    System.out.printf(Locale.ROOT, "  cpu load: %.1f s of CPU over %.1f s, %.1f%% of %d cores (asked %.1f%%)%n",
        cpuNanos / 1e9, seconds, 100 * cpuNanos / 1e9 / seconds / Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().availableProcessors(), 100 * share);
  }
}
