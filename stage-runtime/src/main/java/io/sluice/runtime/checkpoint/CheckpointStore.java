package io.sluice.runtime.checkpoint;

import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Where checkpoints live: each instance's state file, and the coordinator's metadata that makes a
 * checkpoint complete. Pluggable; {@link DirectoryCheckpointStore} is the default (a directory, a
 * volume in Kubernetes).
 *
 * <p>Every write is atomic (a reader sees the whole file or none) and checksummed; every read
 * verifies the checksum, so a torn or corrupt file raises {@link CorruptCheckpointException} and
 * is never loaded.
 *
 * <p>Thread-safe: instances write their state files from their snapshot threads; the coordinator
 * writes metadata and prunes from its own.
 */
public interface CheckpointStore {
  /** An instance's state file, as read back. */
  record InstanceStateFile(StateFileHeader header, List<KeyGroupState> keyGroups, OperatorState operatorState) {}

  /**
   * Writes one instance's state for a checkpoint or savepoint (key groups in ascending order).
   *
   * @return the handle the instance acks with: where the file is, its key groups, size, checksum
   */
  StateHandle writeState(
      long checkpointId,
      boolean savepoint,
      StateFileHeader header,
      List<KeyGroupState> keyGroups,
      OperatorState operatorState)
      throws IOException;

  /** Reads and verifies a state file. */
  InstanceStateFile readState(StateHandle handle) throws IOException;

  /**
   * Stores a checkpoint's metadata, which completes it. A savepoint's metadata goes with its
   * state, in a folder that {@link #retain} never deletes.
   */
  void complete(CheckpointMetadata metadata) throws IOException;

  /**
   * The newest completed checkpoint whose metadata and state files are all intact, or empty. A
   * newer one that is corrupt or truncated is skipped with a log line that names it and says why.
   */
  Optional<CheckpointMetadata> latestIntact();

  /** Reads and verifies a checkpoint's metadata and every state file it names. */
  CheckpointMetadata verify(long checkpointId) throws IOException;

  /** The completed checkpoints (not savepoints) whose metadata reads, oldest first. */
  List<CheckpointMetadata> completed();

  /**
   * The highest checkpoint number used in this store so far, complete or not (0 if none): a
   * restarted coordinator numbers on from here, so no number is used twice.
   */
  long highestCheckpointId();

  /** Deletes what an aborted checkpoint wrote. */
  void discard(long checkpointId) throws IOException;

  /**
   * Keeps the newest {@code keep} completed checkpoints; deletes older ones and any incomplete
   * checkpoint older than the newest complete one. Savepoints are kept.
   */
  void retain(int keep) throws IOException;
}
