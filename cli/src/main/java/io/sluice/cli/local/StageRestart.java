package io.sluice.cli.local;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * One restart of a stage process by {@link LocalLauncher}: which replica died, how, and what
 * replaced it. Immutable.
 *
 * @param instance {@code <stage>-<index>}
 * @param stage the stage's name
 * @param index the replica index (the same for the replacement)
 * @param exitedPid the pid of the process that died
 * @param exitCode its exit code (137 after SIGKILL)
 * @param uptime how long it had run
 * @param delay the backoff waited before starting the replacement
 * @param newPid the replacement's pid; 0 when it could not be started
 * @param restartedAt when the replacement was started (or failed to start)
 * @param error why the replacement could not be started; empty when it was
 */
public record StageRestart(
    String instance,
    String stage,
    int index,
    long exitedPid,
    int exitCode,
    Duration uptime,
    Duration delay,
    long newPid,
    Instant restartedAt,
    String error) {

  public StageRestart {
    Objects.requireNonNull(instance, "instance");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(uptime, "uptime");
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(restartedAt, "restartedAt");
    Objects.requireNonNull(error, "error");
  }

  /** Whether a replacement process was started. */
  public boolean started() {
    return newPid != 0;
  }

  /**
   * One line for the status output, e.g. {@code relay-0 (pid 4711) exited with code 137 after
   * 12.3 s; restarted as pid 4790 after 200 ms}.
   */
  public String describe() {
    String died =
        String.format(
            Locale.ROOT,
            "%s (pid %d) exited with code %d after %.1f s",
            instance,
            exitedPid,
            exitCode,
            uptime.toMillis() / 1000.0);
    return started()
        ? died + "; restarted as pid " + newPid + " after " + delay.toMillis() + " ms"
        : died + "; could not restart it: " + error;
  }
}
