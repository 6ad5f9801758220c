package io.sluice.coordinator.recovery;

import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.StageCheckpoint;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether a pipeline may start from a savepoint, checked before anything starts. Stateless.
 */
public final class SavepointCheck {
  private SavepointCheck() {}

  /**
   * @param from where the savepoint was read, for the messages
   * @throws IllegalArgumentException when the savepoint's maximum parallelism differs from the
   *     spec's (keyed state cannot be re-split over another number of key groups), or when it
   *     holds state of a stage the spec does not have
   */
  public static void check(PipelineSpec spec, CheckpointMetadata savepoint, Path from) {
    if (savepoint.getMaxParallelism() != spec.maxParallelism()) {
      throw new IllegalArgumentException("savepoint " + from + " (checkpoint "
          + savepoint.getCheckpointId() + ") was taken with maxParallelism "
          + savepoint.getMaxParallelism() + " but the spec has " + spec.maxParallelism()
          + "; keyed state cannot be split over another number of key groups: set"
          + " 'maxParallelism: " + savepoint.getMaxParallelism() + "' in the spec");
    }
    List<String> unknown = savepoint.getStagesList().stream()
        .filter(s -> s.getStateCount() > 0 || s.getSourcePositionsCount() > 0)
        .map(StageCheckpoint::getStage)
        .filter(stage -> spec.stage(stage).isEmpty())
        .toList();
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("savepoint " + from + " holds state of stage(s) '"
          + String.join("', '", unknown) + "' that pipeline '" + spec.name() + "' does not have"
          + " (stages: " + String.join(", ", spec.stageNames()) + "); add them back to the spec,"
          + " or start without the savepoint");
    }
  }
}
