package io.sluice.coordinator.recovery;

import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.runtime.checkpoint.CheckpointStore;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Picks what a restore loads: the newest intact checkpoint of this run that has not failed a
 * restore, else the run's base: the savepoint the pipeline started from, else the empty state.
 *
 * <p>"Of this run": a pipeline started afresh does not restore the checkpoints an earlier run
 * left in the store (numbers at or below the highest at start), since its sources and sinks
 * start afresh too. Once the coordinator learns it replaced a coordinator that crashed mid-run
 * ({@link #resume}), every checkpoint in the store counts (above the savepoint the run started
 * from, if any).
 *
 * <p>Confined to the coordinator thread: it reads the store, which may be slow.
 */
final class CheckpointChooser {
  private static final System.Logger LOG = System.getLogger(CheckpointChooser.class.getName());

  private final CheckpointStore store;
  private final Optional<CheckpointMetadata> savepoint;
  private final Set<Long> bad = new HashSet<>();
  /** Checkpoints numbered at or below it are not restored. */
  private long floor;

  CheckpointChooser(CheckpointStore store, Optional<CheckpointMetadata> savepoint) {
    this.store = store;
    this.savepoint = savepoint;
    this.floor = Math.max(
        store.highestCheckpointId(), savepoint.map(CheckpointMetadata::getCheckpointId).orElse(0L));
  }

  /** The run continues one a crashed coordinator ran: earlier checkpoints count. */
  void resume() {
    floor = savepoint.map(CheckpointMetadata::getCheckpointId).orElse(0L);
  }

  /**
   * A restore from checkpoint {@code source} failed: never choose it again in this run. (The
   * run's base, its savepoint or the empty state, is never marked: nothing older could replace
   * it.)
   */
  void markBad(RestoreSource source) {
    if (!source.base()) {
      bad.add(source.checkpointId());
    }
  }

  RestoreSource choose() {
    Optional<CheckpointMetadata> latest = store.latestIntact();
    if (latest.isPresent()) {
      long newest = latest.get().getCheckpointId();
      if (usable(newest)) {
        return RestoreSource.of(latest.get());
      }
      // The newest failed a restore (or is an earlier run's): look further back.
      List<CheckpointMetadata> completed = store.completed();
      for (int i = completed.size() - 1; i >= 0; i--) {
        long id = completed.get(i).getCheckpointId();
        if (id >= newest || !usable(id)) {
          continue;
        }
        try {
          return RestoreSource.of(store.verify(id));
        } catch (IOException e) {
          LOG.log(System.Logger.Level.WARNING, "not restoring checkpoint " + id + ": "
              + e.getMessage());
        }
      }
    }
    return savepoint.map(RestoreSource::ofSavepoint).orElse(RestoreSource.EMPTY);
  }

  private boolean usable(long checkpointId) {
    return checkpointId > floor && !bad.contains(checkpointId);
  }
}
