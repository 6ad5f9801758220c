package io.sluice.cli.local;

import java.time.Duration;

/**
 * How long {@link LocalLauncher} waits before restarting a stage process that died, the way
 * Kubernetes backs off a crash-looping container: 200 ms, doubling after each quick death up to 5
 * s; a process that had run for 30 s or more before it died starts the sequence over.
 *
 * <p>Not thread-safe: one per instance, used under the launcher's lock.
 */
final class RestartBackoff {
  static final Duration INITIAL = Duration.ofMillis(200);
  static final Duration MAX = Duration.ofSeconds(5);
  static final Duration RESET_AFTER = Duration.ofSeconds(30);

  private Duration next = INITIAL;

  /** The delay before restarting a process that ran for {@code uptime} before it died. */
  Duration delayAfter(Duration uptime) {
    if (uptime.compareTo(RESET_AFTER) >= 0) {
      next = INITIAL;
    }
    Duration delay = next;
    next = next.multipliedBy(2).compareTo(MAX) > 0 ? MAX : next.multipliedBy(2);
    return delay;
  }
}
