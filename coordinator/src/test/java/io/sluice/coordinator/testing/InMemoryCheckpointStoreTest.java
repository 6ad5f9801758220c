package io.sluice.coordinator.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CorruptCheckpointException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The test store keeps the {@code CheckpointStore} contract the coordinator relies on. */
class InMemoryCheckpointStoreTest {
  private final InMemoryCheckpointStore store = new InMemoryCheckpointStore();

  private StateHandle write(long id, boolean savepoint) throws Exception {
    return store.writeState(id, savepoint, StateFileHeader.newBuilder()
            .setInstanceId("in-0")
            .setCheckpointId(id)
            .setKeyGroups(KeyGroupRange.newBuilder().setStart(0).setEnd(128))
            .build(),
        List.of(), OperatorState.newBuilder().putSourcePositions("p", id).build());
  }

  private void complete(long id, boolean savepoint) throws Exception {
    StateHandle handle = write(id, savepoint);
    store.complete(CheckpointMetadata.newBuilder()
        .setCheckpointId(id)
        .setSavepoint(savepoint)
        .addStages(StageCheckpoint.newBuilder().setStage("in").addState(handle))
        .build());
  }

  @Test
  void highestCountsIncompleteCheckpointsAndSavepoints() throws Exception {
    assertThat(store.highestCheckpointId()).isZero();
    complete(1, false);
    write(2, false); // triggered, not complete
    assertThat(store.highestCheckpointId()).isEqualTo(2);
    complete(3, true);
    assertThat(store.highestCheckpointId()).isEqualTo(3);
    assertThat(store.completed()).extracting(CheckpointMetadata::getCheckpointId)
        .containsExactly(1L);
    assertThat(store.readState(store.verify(1).getStages(0).getState(0))
        .operatorState().getSourcePositionsMap()).containsEntry("p", 1L);
  }

  @Test
  void latestIntactSkipsWhatIsCorruptAndVerifyRefusesIt() throws Exception {
    complete(1, false);
    complete(2, false);
    complete(3, false);
    store.corruptState(3);
    store.corruptMetadata(2);
    assertThat(store.latestIntact().orElseThrow().getCheckpointId()).isEqualTo(1);
    assertThat(store.completed()).extracting(CheckpointMetadata::getCheckpointId)
        .containsExactly(1L, 3L);
    assertThatThrownBy(() -> store.verify(3)).isInstanceOf(CorruptCheckpointException.class)
        .hasMessage("chk-3/in-0.state: checksum mismatch");
    assertThatThrownBy(() -> store.verify(2)).isInstanceOf(CorruptCheckpointException.class);
  }

  @Test
  void retainKeepsTheNewestAndEverySavepointAndDiscardDropsFiles() throws Exception {
    complete(1, false);
    complete(2, true);
    write(3, false); // abandoned
    complete(4, false);
    complete(5, false);
    store.retain(2);
    assertThat(store.completed()).extracting(CheckpointMetadata::getCheckpointId)
        .containsExactly(4L, 5L);
    assertThat(store.savepoint(2)).isPresent();
    assertThatThrownBy(() -> store.readState(InMemoryCheckpointStore.handle(3, "in-0", 0, 128, 0)))
        .hasMessage("no state file chk-3/in-0.state");

    write(6, false);
    store.discard(6);
    assertThat(store.highestCheckpointId()).isEqualTo(5);
    assertThat(store.discarded()).containsExactly(6L);
    assertThat(store.retainCalls()).containsExactly(2);
  }
}
