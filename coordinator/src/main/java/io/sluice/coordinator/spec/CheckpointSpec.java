package io.sluice.coordinator.spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * When and where checkpoints are taken ({@code checkpoints: {interval: 10s, dir:
 * .sluice/checkpoints}}). Immutable.
 *
 * @param interval time between the starts of two checkpoints
 * @param dir where checkpoints are stored, absolute (a relative {@code dir} resolves against the
 *     spec file's folder)
 */
public record CheckpointSpec(Duration interval, Path dir) {
  /** The interval when {@code checkpoints:} gives none. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

  /** The folder, relative to the spec file, when {@code checkpoints:} gives no {@code dir}. */
  public static final String DEFAULT_DIR = ".sluice/checkpoints";

  public CheckpointSpec {
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(dir, "dir");
  }
}
