package io.sluice.coordinator.liveness;

import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Marks an instance dead when the coordinator has not heard from it (heartbeat, metrics or
 * watermark) for longer than the heartbeat timeout. Finished and dead instances are not checked.
 *
 * <p>Time comes from the registry's injected clock, so tests drive it with a fake clock and
 * explicit {@link #check()} calls; production runs {@link #check()} on a scheduler ({@link
 * #schedule}).
 *
 * <p>Thread-safe: {@link #check()} may run on any thread; the registry serializes the changes.
 */
public final class LivenessMonitor {
  private final InstanceRegistry registry;
  private final Duration timeout;
  private final Consumer<List<InstanceSnapshot>> onDeaths;

  /**
   * @param registry the instances to watch, and the clock
   * @param timeout silence longer than this is death
   * @param onDeaths called with the instances a check marked dead (never with an empty list), on
   *     the checking thread
   */
  public LivenessMonitor(
      InstanceRegistry registry, Duration timeout, Consumer<List<InstanceSnapshot>> onDeaths) {
    this.registry = registry;
    this.timeout = timeout;
    this.onDeaths = onDeaths;
  }

  /**
   * Marks every live instance that has been silent for longer than the timeout dead, with the
   * reason "missed heartbeats for 5.2 s (timeout 5 s)".
   *
   * @return the instances marked dead, as they were just before
   */
  public List<InstanceSnapshot> check() {
    long now = registry.nanoTime();
    long timeoutNanos = timeout.toNanos();
    List<InstanceSnapshot> died = new ArrayList<>();
    for (InstanceSnapshot instance : registry.instances()) {
      if (!instance.live()) {
        continue;
      }
      long silentNanos = now - instance.lastHeartbeatNanos();
      if (silentNanos > timeoutNanos) {
        String reason = "missed heartbeats for " + seconds(silentNanos) + " (timeout "
            + seconds(timeoutNanos) + ")";
        if (registry.markDeadIfSilentSince(
            instance.instanceId(), instance.session(), instance.lastHeartbeatNanos(), reason)) {
          died.add(instance);
        }
      }
    }
    if (!died.isEmpty()) {
      onDeaths.accept(died);
    }
    return died;
  }

  /** Runs {@link #check()} every {@code period} on the scheduler; cancel the returned future. */
  public ScheduledFuture<?> schedule(ScheduledExecutorService scheduler, Duration period) {
    long millis = Math.max(1, period.toMillis());
    return scheduler.scheduleWithFixedDelay(this::checkQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  private void checkQuietly() {
    try {
      check();
    } catch (RuntimeException e) {
      // A failing check must not cancel the schedule: the next one may well succeed.
      System.getLogger(LivenessMonitor.class.getName())
          .log(System.Logger.Level.WARNING, "liveness check failed; retrying at the next tick", e);
    }
  }

  /** "5.2 s", "5 s", "0.3 s": tenths of a second, without a trailing ".0". */
  static String seconds(long nanos) {
    long tenths = nanos / 100_000_000L;
    return tenths / 10 + (tenths % 10 == 0 ? "" : "." + tenths % 10) + " s";
  }
}
