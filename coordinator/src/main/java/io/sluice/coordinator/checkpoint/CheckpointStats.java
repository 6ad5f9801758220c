package io.sluice.coordinator.checkpoint;

import java.util.Locale;
import java.util.Objects;

/**
 * What the coordinator knows of one checkpoint or savepoint: for status, {@code
 * ListCheckpoints} and metrics. Immutable.
 *
 * @param checkpointId the checkpoint number
 * @param savepoint true for a savepoint
 * @param state in progress, completed or aborted
 * @param triggeredAtMillis when it was triggered, epoch milliseconds
 * @param durationMillis from trigger to completion or abort; 0 while in progress
 * @param sizeBytes the stored state of every instance (sum of the acked handles' sizes); 0 until
 *     completed
 * @param maxAlignmentMillis the longest barrier alignment any instance reported; 0 until
 *     completed, or when not known (a checkpoint of an earlier run)
 * @param location where it is stored ({@code <storage_dir>/chk-<n>} or {@code
 *     <storage_dir>/savepoint-<n>})
 * @param failureReason why it was aborted; empty otherwise
 */
public record CheckpointStats(
    long checkpointId,
    boolean savepoint,
    State state,
    long triggeredAtMillis,
    long durationMillis,
    long sizeBytes,
    long maxAlignmentMillis,
    String location,
    String failureReason) {

  /** Where a checkpoint is in its life. */
  public enum State {
    IN_PROGRESS,
    COMPLETED,
    ABORTED;

    /** "in_progress", "completed" or "aborted", as {@code CheckpointInfo.state} spells it. */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public CheckpointStats {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(failureReason, "failureReason");
  }
}
