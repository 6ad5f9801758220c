package io.sluice.runtime.checkpoint;

import static io.sluice.runtime.checkpoint.CheckpointTestData.filesUnder;
import static io.sluice.runtime.checkpoint.CheckpointTestData.flipByte;
import static io.sluice.runtime.checkpoint.CheckpointTestData.header;
import static io.sluice.runtime.checkpoint.CheckpointTestData.keyGroup;
import static io.sluice.runtime.checkpoint.CheckpointTestData.metadata;
import static io.sluice.runtime.checkpoint.CheckpointTestData.operatorState;
import static io.sluice.runtime.checkpoint.CheckpointTestData.range;
import static io.sluice.runtime.checkpoint.CheckpointTestData.truncate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DirectoryCheckpointStoreTest {
  @TempDir Path tmp;

  private Path root;
  private DirectoryCheckpointStore store;

  @BeforeEach
  void setUp() {
    root = tmp.resolve("orders");
    store = new DirectoryCheckpointStore(root);
  }

  /** Writes two instances' state for checkpoint {@code id} and, if {@code complete}, its metadata. */
  private CheckpointMetadata checkpoint(long id, boolean savepoint, boolean complete) throws IOException {
    List<StateHandle> handles = new ArrayList<>();
    List<KeyGroupState> low = List.of(keyGroup(1, 2), keyGroup(5, 1));
    List<KeyGroupState> high = List.of(keyGroup(64, 3), keyGroup(127, 1));
    handles.add(store.writeState(id, savepoint, header("window-0", id, 0, 64), low, operatorState("0")));
    handles.add(store.writeState(id, savepoint, header("window-1", id, 64, 128), high, operatorState("1")));
    CheckpointMetadata metadata = metadata(id, savepoint, handles);
    if (complete) {
      store.complete(metadata);
    }
    return metadata;
  }

  @Test
  void writeStateReturnsARelativeHandleWithSizeAndChecksum() throws IOException {
    List<KeyGroupState> groups = List.of(keyGroup(64, 3), keyGroup(70, 0), keyGroup(127, 2));
    StateHandle handle = store.writeState(5, false, header("count-1", 5, 64, 128), groups, operatorState("x"));

    Path file = root.resolve("chk-5/count-1.state");
    assertThat(handle.getUri()).isEqualTo("chk-5/count-1.state");
    assertThat(handle.getKeyGroups()).isEqualTo(range(64, 128));
    assertThat(handle.getSizeBytes()).isEqualTo(Files.size(file));
    byte[] bytes = Files.readAllBytes(file);
    assertThat(handle.getChecksum()).isEqualTo(ByteBuffer.wrap(bytes).getInt(bytes.length - 4));
    assertThat(filesUnder(root)).containsExactly("chk-5/count-1.state");

    InstanceStateFile read = store.readState(handle);
    assertThat(read.header()).isEqualTo(header("count-1", 5, 64, 128));
    assertThat(read.keyGroups()).isEqualTo(groups);
    assertThat(read.operatorState()).isEqualTo(operatorState("x"));
  }

  @Test
  void aSavepointIsWrittenToItsOwnFolder() throws IOException {
    CheckpointMetadata metadata = checkpoint(4, true, true);

    assertThat(filesUnder(root))
        .containsExactly("savepoint-4/_metadata", "savepoint-4/window-0.state", "savepoint-4/window-1.state");
    assertThat(metadata.getStages(0).getState(0).getUri()).isEqualTo("savepoint-4/window-0.state");
    assertThat(store.completed()).isEmpty();
    assertThat(store.latestIntact()).isEmpty();
  }

  @Test
  void metadataRoundTripsAndCompletesTheCheckpoint() throws IOException {
    CheckpointMetadata metadata = checkpoint(3, false, true);

    assertThat(store.verify(3)).isEqualTo(metadata);
    assertThat(store.completed()).containsExactly(metadata);
    assertThat(store.latestIntact()).contains(metadata);
    for (StateHandle handle : metadata.getStages(0).getStateList()) {
      assertThat(store.readState(handle).header().getCheckpointId()).isEqualTo(3);
    }
  }

  @Test
  void anIncompleteCheckpointIsNotListedAsComplete() throws IOException {
    CheckpointMetadata one = checkpoint(1, false, true);
    checkpoint(2, false, false); // every instance wrote, no _metadata yet
    CheckpointMetadata three = checkpoint(3, false, true);
    checkpoint(4, false, false);

    try (CheckpointTestData.CapturedLog log = new CheckpointTestData.CapturedLog(DirectoryCheckpointStore.class)) {
      assertThat(store.completed()).containsExactly(one, three);
      assertThat(store.latestIntact()).contains(three);
      // Being in flight is not corruption.
      assertThat(log.records()).isEmpty();
    }
    assertThatThrownBy(() -> store.verify(4)).isInstanceOf(NoSuchFileException.class);
  }

  /** Ways a complete checkpoint can be damaged. */
  enum Damage {
    FLIPPED_BYTE("chk-7/window-1.state", "checksum mismatch (stored 0x"),
    TRUNCATED("chk-7/window-1.state", "truncated: "),
    MISSING_STATE_FILE("chk-7/window-1.state", "missing"),
    REWRITTEN_STATE_FILE("chk-7/window-1.state", "does not match its state handle"),
    CORRUPT_METADATA("chk-7/_metadata", "checksum mismatch");

    final String file;
    final String reason;

    Damage(String file, String reason) {
      this.file = file;
      this.reason = reason;
    }
  }

  @ParameterizedTest
  @EnumSource(Damage.class)
  void latestIntactFallsBackToThePreviousCheckpointAndSaysWhy(Damage damage) throws IOException {
    checkpoint(5, false, true);
    CheckpointMetadata six = checkpoint(6, false, true);
    checkpoint(7, false, true);
    Path file = root.resolve(damage.file);
    switch (damage) {
      case FLIPPED_BYTE -> flipByte(file, Files.size(file) / 2, 0x04);
      case TRUNCATED -> truncate(file, Files.size(file) - 3);
      case MISSING_STATE_FILE -> Files.delete(file);
      case REWRITTEN_STATE_FILE ->
          store.writeState(7, false, header("window-1", 7, 64, 128), List.of(keyGroup(99, 1)), operatorState("z"));
      case CORRUPT_METADATA -> flipByte(file, 20, 0x01);
    }

    try (CheckpointTestData.CapturedLog log = new CheckpointTestData.CapturedLog(DirectoryCheckpointStore.class)) {
      assertThat(store.latestIntact()).contains(six);

      assertThat(log.records()).hasSize(1);
      LogRecord record = log.records().get(0);
      assertThat(record.getLevel()).isEqualTo(Level.WARNING);
      assertThat(record.getMessage())
          .startsWith("checkpoint 7 of root " + root + " is corrupt (" + damage.file + ": ")
          .contains(damage.reason)
          .endsWith("); falling back to checkpoint 6");
    }
    assertThatThrownBy(() -> store.verify(7))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith(damage.file + ": ")
        .hasMessageContaining(damage.reason);
    assertThat(store.verify(6)).isEqualTo(six);
  }

  @Test
  void latestIntactSkipsSeveralCorruptCheckpointsAndWarnsWhenNoneIsLeft() throws IOException {
    checkpoint(1, false, true);
    checkpoint(2, false, true);
    flipByte(root.resolve("chk-1/window-0.state"), 40, 0x01);
    truncate(root.resolve("chk-2/window-1.state"), 25);

    try (CheckpointTestData.CapturedLog log = new CheckpointTestData.CapturedLog(DirectoryCheckpointStore.class)) {
      assertThat(store.latestIntact()).isEmpty();

      List<String> messages = log.records().stream().map(LogRecord::getMessage).toList();
      assertThat(messages).hasSize(2);
      assertThat(messages.get(0))
          .startsWith("checkpoint 2 of root " + root + " is corrupt (")
          .contains("(chk-2/window-1.state: truncated: 25 bytes, expected ")
          .endsWith("); no older intact checkpoint is left");
      assertThat(messages.get(1))
          .startsWith("checkpoint 1 of root " + root + " is corrupt (chk-1/window-0.state: checksum mismatch")
          .endsWith("); no older intact checkpoint is left");
    }
  }

  @Test
  void readStateRefusesAFileThatIsNotTheHandles() throws IOException {
    StateHandle first =
        store.writeState(2, false, header("count-0", 2, 0, 64), List.of(keyGroup(3, 1)), operatorState("a"));
    // The same instance writes again (a retried snapshot): the first handle no longer fits.
    store.writeState(2, false, header("count-0", 2, 0, 64), List.of(keyGroup(4, 1)), operatorState("b"));

    assertThatThrownBy(() -> store.readState(first))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith("chk-2/count-0.state: does not match its state handle");
  }

  @Test
  void readStateRefusesHandlesOutsideTheStore() throws IOException {
    StateHandle real = store.writeState(2, false, header("count-0", 2, 0, 64), List.of(), operatorState("a"));
    for (String uri :
        List.of("../count-0.state", "chk-2/../../count-0.state", "/etc/count-0.state", "chk-2/.count-0.state",
            "chk-02/count-0.state", "chk-2/_metadata", "chk-2/count-0.state/x")) {
      assertThatThrownBy(() -> store.readState(real.toBuilder().setUri(uri).build()))
          .as(uri)
          .isInstanceOf(CorruptCheckpointException.class)
          .hasMessageContaining("does not name a state file");
    }
    assertThatThrownBy(() -> store.readState(real.toBuilder().setUri("chk-3/count-0.state").build()))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith("chk-3/count-0.state: missing");
    assertThatThrownBy(() -> store.readState(real.toBuilder().setKeyGroups(range(0, 32)).build()))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessage("chk-2/count-0.state: holds key groups [0, 64), its handle says [0, 32)");
  }

  @Test
  void metadataMustDescribeItsOwnFolderAndFiles() throws IOException {
    CheckpointMetadata two = checkpoint(2, false, true);
    // Metadata of 3 that points at 2's files: deleting 2 would break it.
    store.complete(two.toBuilder().setCheckpointId(3).build());

    assertThatThrownBy(() -> store.verify(3))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessage("chk-3/_metadata: state handle chk-2/window-0.state of stage window is outside chk-3/");
  }

  @Test
  void writeStateRefusesWhatCannotBeStored() {
    assertThatThrownBy(() -> store.writeState(2, false, header("count-0", 3, 0, 64), List.of(), operatorState("a")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("its header says checkpoint 3");
    var escaping = header("count-0", 2, 0, 64).toBuilder().setInstanceId("../x").build();
    assertThatThrownBy(() -> store.writeState(2, false, escaping, List.of(), operatorState("a")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot name a state file");
    assertThatThrownBy(() -> store.writeState(0, false, header("count-0", 0, 0, 64), List.of(), operatorState("a")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Files.exists(root)).isFalse();
  }

  @Test
  void retainKeepsTheNewestCompleteAndWhatMayBeInFlight() throws IOException {
    checkpoint(1, false, true);
    checkpoint(2, false, false); // aborted long ago
    checkpoint(3, false, true);
    checkpoint(4, true, true); // savepoint
    checkpoint(5, false, true);
    checkpoint(6, true, false); // savepoint in flight
    checkpoint(7, false, true);
    checkpoint(8, false, false); // in flight
    Files.writeString(root.resolve("chk-7/.window-0.state.1234.tmp"), "left by a crash");
    Files.writeString(root.resolve("chk-8/.window-9.state.5678.tmp"), "being written");

    store.retain(2);

    assertThat(filesUnder(root))
        .containsExactly(
            "chk-5/_metadata",
            "chk-5/window-0.state",
            "chk-5/window-1.state",
            "chk-7/_metadata",
            "chk-7/window-0.state",
            "chk-7/window-1.state",
            "chk-8/.window-9.state.5678.tmp",
            "chk-8/window-0.state",
            "chk-8/window-1.state",
            "savepoint-4/_metadata",
            "savepoint-4/window-0.state",
            "savepoint-4/window-1.state",
            "savepoint-6/window-0.state",
            "savepoint-6/window-1.state");
    assertThat(store.completed()).extracting(CheckpointMetadata::getCheckpointId).containsExactly(5L, 7L);

    store.retain(1);
    assertThat(store.completed()).extracting(CheckpointMetadata::getCheckpointId).containsExactly(7L);
    assertThat(Files.exists(root.resolve("chk-5"))).isFalse();
    assertThat(Files.exists(root.resolve("chk-8"))).isTrue();
    assertThatThrownBy(() -> store.retain(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void retainWithoutACompleteCheckpointDeletesNothing() throws IOException {
    checkpoint(1, false, false);
    checkpoint(2, false, false);

    store.retain(1);

    assertThat(filesUnder(root)).hasSize(4);
  }

  @Test
  void discardDeletesACheckpointAndAnAbortedSavepointButNeverACompletedOne() throws IOException {
    checkpoint(1, false, true);
    checkpoint(2, false, false);
    checkpoint(3, true, true);
    checkpoint(4, true, false);
    Files.writeString(root.resolve("chk-2/.window-0.state.99.tmp"), "partial");

    store.discard(2);
    store.discard(3);
    store.discard(4);
    store.discard(1);
    store.discard(42); // nothing there

    assertThat(filesUnder(root))
        .containsExactly("savepoint-3/_metadata", "savepoint-3/window-0.state", "savepoint-3/window-1.state");
    assertThat(store.completed()).isEmpty();
  }

  @Test
  void highestCheckpointIdCountsIncompleteCheckpointsAndSavepoints() throws IOException {
    assertThat(store.highestCheckpointId()).isZero(); // root does not exist yet
    checkpoint(3, false, true);
    assertThat(store.highestCheckpointId()).isEqualTo(3);
    checkpoint(5, false, false);
    assertThat(store.highestCheckpointId()).isEqualTo(5);
    checkpoint(9, true, false);
    assertThat(store.highestCheckpointId()).isEqualTo(9);
    Files.createDirectories(root.resolve("chk-notanumber"));
    Files.createDirectories(root.resolve("chk-0100"));
    Files.writeString(root.resolve("chk-50"), "a file, not a checkpoint folder");
    assertThat(store.highestCheckpointId()).isEqualTo(9);
  }

  @Test
  void aMovedSavepointIsReadAndVerifiedWhereItNowIs() throws IOException {
    CheckpointMetadata savepoint = checkpoint(12, true, true);
    Path moved = tmp.resolve("backups/2024").resolve("savepoint-12");
    Files.createDirectories(moved.getParent());
    Files.move(root.resolve("savepoint-12"), moved);

    assertThat(DirectoryCheckpointStore.readSavepoint(moved)).isEqualTo(savepoint);
    DirectoryCheckpointStore there = DirectoryCheckpointStore.forSavepoint(moved);
    assertThat(there.root()).isEqualTo(moved.getParent().toAbsolutePath().normalize());
    StateHandle handle = savepoint.getStages(0).getState(1);
    assertThat(there.readState(handle).keyGroups()).extracting(KeyGroupState::getKeyGroup).containsExactly(64, 127);

    flipByte(moved.resolve("window-1.state"), 50, 0x20);
    assertThatThrownBy(() -> DirectoryCheckpointStore.readSavepoint(moved))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith("savepoint-12/window-1.state: checksum mismatch");
  }

  @Test
  void aFolderThatIsNotASavepointIsRefused() throws IOException {
    checkpoint(2, false, true);
    Path renamed = tmp.resolve("my-savepoint");
    Files.createDirectories(renamed);

    assertThatThrownBy(() -> DirectoryCheckpointStore.readSavepoint(renamed))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be named savepoint-<n>");
    assertThatThrownBy(() -> DirectoryCheckpointStore.forSavepoint(root.resolve("chk-2")))
        .isInstanceOf(IllegalArgumentException.class);
    // A savepoint that never completed has no metadata.
    checkpoint(3, true, false);
    assertThatThrownBy(() -> DirectoryCheckpointStore.readSavepoint(root.resolve("savepoint-3")))
        .isInstanceOf(NoSuchFileException.class);
  }

  @Test
  void instancesWriteConcurrently() throws Exception {
    int instances = 16;
    ExecutorService pool = Executors.newFixedThreadPool(instances);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<StateHandle>> futures = new ArrayList<>();
      for (int i = 0; i < instances; i++) {
        int index = i;
        int keyGroup = index * 8;
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return store.writeState(
                      1,
                      false,
                      header("count-" + index, 1, keyGroup, keyGroup + 8),
                      List.of(keyGroup(keyGroup, 50), keyGroup(keyGroup + 7, 50)),
                      operatorState(Integer.toString(index)));
                }));
      }
      start.countDown();
      List<StateHandle> handles = new ArrayList<>();
      for (Future<StateHandle> f : futures) {
        handles.add(f.get());
      }
      store.complete(metadata(1, false, handles));

      assertThat(store.verify(1).getStages(0).getStateCount()).isEqualTo(instances);
      for (int i = 0; i < instances; i++) {
        assertThat(store.readState(handles.get(i)).operatorState()).isEqualTo(operatorState(Integer.toString(i)));
      }
      assertThat(filesUnder(root)).hasSize(instances + 1).noneMatch(name -> name.endsWith(".tmp"));
    } finally {
      pool.shutdownNow();
    }
  }
}
