package io.sluice.coordinator.spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * When, where and how checkpoints are taken ({@code checkpoints: {interval: 10s, dir:
 * .sluice/checkpoints, timeout: 60s, keep: 3, mode: exactly-once}}). Immutable.
 *
 * @param interval time between the starts of two checkpoints; required when the section is given
 * @param dir where checkpoints are stored, absolute (a relative {@code dir} resolves against the
 *     spec file's folder); each pipeline's go under {@code <dir>/<pipeline>}
 * @param timeout a checkpoint not complete this long after its trigger is aborted
 * @param keep how many completed checkpoints are kept (savepoints are always kept); at least 1
 * @param mode exactly-once (aligned barriers) or at-least-once
 */
public record CheckpointSpec(Duration interval, Path dir, Duration timeout, int keep, Mode mode) {
  /** The folder, relative to the spec file, when {@code checkpoints:} gives no {@code dir}. */
  public static final String DEFAULT_DIR = ".sluice/checkpoints";

  /** The timeout when {@code checkpoints:} gives none. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /** How many completed checkpoints are kept when {@code checkpoints:} does not say. */
  public static final int DEFAULT_KEEP = 3;

  /** Barrier handling, as {@code checkpoints.mode} spells it. */
  public enum Mode {
    /** Aligned barriers: no event counts twice after a restore. */
    EXACTLY_ONCE,
    /** No alignment: a restore may replay some events twice. */
    AT_LEAST_ONCE;

    /** "exactly-once" or "at-least-once". */
    public String specName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  public CheckpointSpec {
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(mode, "mode");
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1, got " + keep);
    }
  }

  /** The defaults for everything but the interval and the folder. */
  public CheckpointSpec(Duration interval, Path dir) {
    this(interval, dir, DEFAULT_TIMEOUT, DEFAULT_KEEP, Mode.EXACTLY_ONCE);
  }

  /** Where one pipeline's checkpoints and savepoints live: {@code <dir>/<pipeline>}, absolute. */
  public Path storageDir(String pipeline) {
    return dir.resolve(pipeline).toAbsolutePath().normalize();
  }
}
