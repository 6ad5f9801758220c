package io.sluice.coordinator.checkpoint;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The checkpoints of this coordinator's run, newest last, at most {@link #LIMIT}: each entry is
 * replaced as its checkpoint moves from in progress to completed or aborted.
 *
 * <p>Thread-safe: the checkpoint coordinator writes, admin calls read; one lock.
 */
final class CheckpointHistory {
  /** Older entries are forgotten; completed checkpoints stay listed from the store. */
  static final int LIMIT = 100;

  private final Object lock = new Object();

  @GuardedBy("lock")
  private final TreeMap<Long, CheckpointStats> byId = new TreeMap<>();

  void put(CheckpointStats stats) {
    synchronized (lock) {
      byId.put(stats.checkpointId(), stats);
      while (byId.size() > LIMIT) {
        byId.pollFirstEntry();
      }
    }
  }

  /** Every entry, oldest first. */
  List<CheckpointStats> all() {
    synchronized (lock) {
      return new ArrayList<>(byId.values());
    }
  }

  /** The newest entry that is completed or aborted. */
  Optional<CheckpointStats> lastFinished() {
    synchronized (lock) {
      return byId.descendingMap().values().stream()
          .filter(s -> s.state() != CheckpointStats.State.IN_PROGRESS)
          .findFirst();
    }
  }
}
