package io.sluice.coordinator.recovery;

import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Restore;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.runtime.partition.KeyGroups;

/**
 * One restore: its epoch and what it loads; makes each instance's {@code Restore}. Immutable.
 *
 * @param epoch the new restore epoch
 * @param source what every instance loads
 */
record RestorePlan(long epoch, RestoreSource source) {
  /**
   * The {@code Restore} of instance {@code index} of {@code stage}: every state handle of its
   * stage in the checkpoint (each instance keeps the key groups it owns now, so a rescale needs
   * nothing more), the stage's source positions, and its key groups and parallelism now.
   */
  Restore restoreFor(String stage, int index, int parallelism, int maxParallelism) {
    Restore.Builder restore = Restore.newBuilder()
        .setEpoch(epoch)
        .setCheckpointId(source.checkpointId())
        .setParallelism(parallelism)
        .setKeyGroups(index < parallelism
            ? KeyGroups.rangeFor(index, parallelism, maxParallelism)
            : KeyGroupRange.getDefaultInstance());
    source.checkpoint().ifPresent(meta -> {
      for (StageCheckpoint s : meta.getStagesList()) {
        if (s.getStage().equals(stage)) {
          restore.addAllState(s.getStateList()).putAllSourcePositions(s.getSourcePositionsMap())
              .setStateRoot(meta.getStateRoot());
        }
      }
    });
    return restore.build();
  }
}
