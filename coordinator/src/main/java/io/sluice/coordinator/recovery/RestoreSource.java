package io.sluice.coordinator.recovery;

import io.sluice.proto.v1.CheckpointMetadata;
import java.util.Optional;

/**
 * What a restore loads: a completed checkpoint, the savepoint the pipeline started from, or the
 * empty state (checkpoint 0). Immutable.
 *
 * @param checkpoint the checkpoint's metadata; empty for the empty state
 * @param savepoint whether it is the savepoint the pipeline started from
 */
record RestoreSource(Optional<CheckpointMetadata> checkpoint, boolean savepoint) {
  /** Checkpoint 0: nothing completed yet. */
  static final RestoreSource EMPTY = new RestoreSource(Optional.empty(), false);

  static RestoreSource of(CheckpointMetadata checkpoint) {
    return new RestoreSource(Optional.of(checkpoint), false);
  }

  static RestoreSource ofSavepoint(CheckpointMetadata savepoint) {
    return new RestoreSource(Optional.of(savepoint), true);
  }

  /**
   * Whether it is what the run started from (the savepoint, or the empty state): nothing older
   * belongs to the run.
   */
  boolean base() {
    return savepoint || checkpoint.isEmpty();
  }

  /** The checkpoint number; 0 for the empty state. */
  long checkpointId() {
    return checkpoint.map(CheckpointMetadata::getCheckpointId).orElse(0L);
  }

  /** "checkpoint 7", "savepoint 3" or "the empty state (checkpoint 0)", for logs. */
  String describe() {
    if (checkpoint.isEmpty()) {
      return "the empty state (checkpoint 0)";
    }
    return (savepoint ? "savepoint " : "checkpoint ") + checkpointId();
  }
}
