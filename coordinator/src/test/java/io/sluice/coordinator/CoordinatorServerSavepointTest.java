package io.sluice.coordinator;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateHandle;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A start from a savepoint that does not fit the spec is refused before anything starts. */
class CoordinatorServerSavepointTest {
  private static final PipelineSpec SPEC = Specs.parse("""
      pipeline: clicks
      checkpoints: {interval: 10s, dir: /srv/ckpt}
      stages:
        - {name: in, type: ingest}
        - {name: per-user, type: count, from: in}
      """);
  private static final Path FROM = Path.of("/srv/ckpt/clicks/savepoint-12");

  private static final CoordinatorServer.StoreOpener NO_STORE = dir -> {
    throw new AssertionError("a refused start must not open the store");
  };

  private static CheckpointMetadata.Builder savepoint() {
    return CheckpointMetadata.newBuilder()
        .setPipeline("clicks")
        .setCheckpointId(12)
        .setSavepoint(true)
        .setMaxParallelism(128)
        .addStages(StageCheckpoint.newBuilder()
            .setStage("per-user")
            .setParallelism(1)
            .addState(StateHandle.newBuilder().setUri("savepoint-12/per-user-0.state")));
  }

  @Test
  void anotherMaxParallelismIsRefused() {
    CheckpointMetadata taken = savepoint().setMaxParallelism(64).build();
    assertThatThrownBy(() -> CoordinatorServer.start(
            SPEC, "127.0.0.1", 0, FROM, NO_STORE, dir -> taken))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("savepoint /srv/ckpt/clicks/savepoint-12 (checkpoint 12) was taken with"
            + " maxParallelism 64 but the spec has 128; keyed state cannot be split over another"
            + " number of key groups: set 'maxParallelism: 64' in the spec");
  }

  @Test
  void stateOfAStageTheSpecLacksIsRefused() {
    CheckpointMetadata taken = savepoint()
        .addStages(StageCheckpoint.newBuilder()
            .setStage("per-region")
            .setParallelism(1)
            .addState(StateHandle.newBuilder().setUri("savepoint-12/per-region-0.state")))
        .addStages(StageCheckpoint.newBuilder().setStage("gone-but-stateless").setParallelism(1))
        .build();
    assertThatThrownBy(() -> CoordinatorServer.start(
            SPEC, "127.0.0.1", 0, FROM, NO_STORE, dir -> taken))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("savepoint /srv/ckpt/clicks/savepoint-12 holds state of stage(s) 'per-region'"
            + " that pipeline 'clicks' does not have (stages: in, per-user); add them back to the"
            + " spec, or start without the savepoint");
  }

  @Test
  void aPipelineWithoutCheckpointsCannotStartFromASavepoint() {
    PipelineSpec plain = Specs.parse("""
        pipeline: clicks
        stages: [{name: in, type: ingest}]
        """);
    assertThatThrownBy(() -> CoordinatorServer.start(plain, "127.0.0.1", 0, FROM, NO_STORE,
            dir -> {
              throw new AssertionError("nothing to read without checkpoints");
            }))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("pipeline 'clicks' has no 'checkpoints:' section; add one");
  }

  @Test
  void aSavepointIsReadFromItsFolderWithItsParentAsTheStateRoot(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    io.sluice.runtime.checkpoint.DirectoryCheckpointStore store =
        new io.sluice.runtime.checkpoint.DirectoryCheckpointStore(dir.resolve("clicks"));
    store.complete(io.sluice.proto.v1.CheckpointMetadata.newBuilder()
        .setPipeline("clicks").setCheckpointId(4).setSavepoint(true).setMaxParallelism(128).build());
    Path moved = dir.resolve("elsewhere/savepoint-4");
    java.nio.file.Files.createDirectories(moved.getParent());
    java.nio.file.Files.move(dir.resolve("clicks/savepoint-4"), moved);
    var meta = CoordinatorServer.readSavepoint(moved);
    org.assertj.core.api.Assertions.assertThat(meta.getCheckpointId()).isEqualTo(4);
    org.assertj.core.api.Assertions.assertThat(meta.getStateRoot()).isEqualTo(moved.getParent().toString());
  }
}
