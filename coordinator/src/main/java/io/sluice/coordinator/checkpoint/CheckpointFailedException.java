package io.sluice.coordinator.checkpoint;

/**
 * A checkpoint or savepoint did not complete: it timed out, an instance declined it or died, a
 * restore started, or its metadata could not be stored. The message names the checkpoint and
 * why. Retrying later may succeed.
 */
public final class CheckpointFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final long checkpointId;

  public CheckpointFailedException(long checkpointId, String message) {
    super(message);
    this.checkpointId = checkpointId;
  }

  /** The checkpoint that failed; 0 when it was never triggered. */
  public long checkpointId() {
    return checkpointId;
  }
}
