package io.sluice.coordinator.spec;

import java.time.Duration;
import java.util.Objects;

/**
 * How often instances send heartbeats and how long the coordinator waits before it declares a
 * silent instance dead ({@code heartbeat: {interval: 1s, timeout: 5s}}). Immutable.
 *
 * @param interval instances send a heartbeat at least this often
 * @param timeout an instance silent for longer than this is dead; longer than {@code interval}
 */
public record HeartbeatSpec(Duration interval, Duration timeout) {
  /** 1 s interval, 5 s timeout. */
  public static final HeartbeatSpec DEFAULT =
      new HeartbeatSpec(Duration.ofSeconds(1), Duration.ofSeconds(5));

  public HeartbeatSpec {
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(timeout, "timeout");
  }
}
