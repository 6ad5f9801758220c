package io.sluice.stages.sink;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.runtime.testkit.OperatorTestDriver;
import io.sluice.runtime.testkit.OperatorTestDriver.Snapshot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The file sink's two-phase commit with real files: lines reach the target only when their
 * checkpoint completes, a restore commits what was pre-committed and repairs a commit that crashed
 * half-way, commits are idempotent, and a scale-in commits the removed instances' transactions.
 * A crash is an abandoned driver (and the process's file claims forgotten, as its death would).
 */
class FileSinkCheckpointTest {
  private static final String SETTINGS = "{path: 'out/results.jsonl', flush: '10ms'}";

  @TempDir Path dir;

  @AfterEach
  void forgetAbandonedOperators() {
    FileSinkOperator.forgetClaims();
  }

  // ---------------------------------------------------------------- commit on completion

  @Test
  void linesReachTheTargetOnlyWhenTheirCheckpointCompletes() throws Exception {
    var sink = sink(0);
    sink.snapshot(1); // a barrier before any line: transactions from the start
    write(sink, 1, 2);
    sink.advanceWallClock(Duration.ofSeconds(1)); // flushes go to the pending file
    assertThat(lines(0)).isEmpty();
    sink.snapshot(2);
    write(sink, 3);
    assertThat(lines(0)).isEmpty();
    sink.checkpointComplete(1); // transaction 1 was empty
    assertThat(lines(0)).isEmpty();
    sink.checkpointComplete(2);
    assertThat(lines(0)).containsExactly(line(1), line(2));
    assertThat(pendingFiles()).as("the open transaction").hasSize(1);
    sink.snapshot(3);
    sink.checkpointComplete(3);
    assertThat(lines(0)).containsExactly(line(1), line(2), line(3));
    assertThat(pendingFiles()).isEmpty();
    assertThat(marker(0)).isEqualTo(new CommitMarker(3, bytes(1, 2, 3)));
  }

  @Test
  void aCompletionCommitsEveryTransactionUpToItInOrderAndRepeatingItChangesNothing() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    sink.snapshot(2);
    write(sink, 2);
    sink.snapshot(3); // say checkpoint 2 was aborted: 3 covers it
    write(sink, 3);
    sink.snapshot(4);
    sink.checkpointComplete(3);
    assertThat(lines(0)).containsExactly(line(1), line(2));
    sink.checkpointComplete(3);
    sink.checkpointComplete(2);
    sink.checkpointComplete(1);
    assertThat(lines(0)).containsExactly(line(1), line(2));
    sink.checkpointComplete(4);
    sink.checkpointComplete(4);
    assertThat(lines(0)).containsExactly(line(1), line(2), line(3));
  }

  @Test
  void theEndOfTheInputCommitsTheLinesAfterTheLastBarrier() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    sink.snapshot(2);
    write(sink, 2);
    sink.close(); // checkpoint 2 never completed, but every line reached the sink
    assertThat(lines(0)).containsExactly(line(1), line(2));
    assertThat(pendingFiles()).isEmpty();
    assertThat(marker(0).transaction()).isEqualTo(CommitMarker.END_OF_INPUT);
  }

  // ---------------------------------------------------------------- restore

  @Test
  void aRestoreCommitsWhatItsCheckpointPreCommittedAndDropsWhatCameAfter() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1, 2);
    Snapshot two = sink.snapshot(2);
    write(sink, 3); // after the barrier: the replay brings it again
    sink.advanceWallClock(Duration.ofSeconds(1));
    assertThat(pendingFiles()).hasSize(2);
    crash();

    var restored = restore(0, 1, List.of(two));
    assertThat(lines(0)).containsExactly(line(1), line(2));
    assertThat(pendingFiles()).isEmpty();
    write(restored, 3, 4); // the replay
    restored.snapshot(3);
    restored.checkpointComplete(3);
    assertThat(lines(0)).containsExactly(line(1), line(2), line(3), line(4));
  }

  @Test
  void aCrashBetweenAppendAndMarkerIsRepairedWithoutDuplicateOrLoss() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    sink.snapshot(2);
    sink.checkpointComplete(2);
    write(sink, 2, 3);
    Snapshot three = sink.snapshot(3);
    // Committing 3 crashes after appending part of the pending file (a torn line), before the marker.
    Path pending = single(pendingFiles());
    byte[] transaction = Files.readAllBytes(pending);
    Files.write(target(0), java.util.Arrays.copyOf(transaction, transaction.length - 5), StandardOpenOption.APPEND);
    assertThat(marker(0)).isEqualTo(new CommitMarker(2, bytes(1)));
    crash();

    restore(0, 1, List.of(three));
    assertThat(lines(0)).containsExactly(line(1), line(2), line(3));
    assertThat(marker(0)).isEqualTo(new CommitMarker(3, bytes(1, 2, 3)));
  }

  @Test
  void aCrashAfterAWholeAppendBeforeTheMarkerIsRepairedToo() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    Snapshot two = sink.snapshot(2);
    Files.write(target(0), Files.readAllBytes(single(pendingFiles())), StandardOpenOption.APPEND);
    crash();

    var restored = restore(0, 1, List.of(two));
    assertThat(lines(0)).containsExactly(line(1));
    restored.checkpointComplete(2); // again: idempotent
    assertThat(lines(0)).containsExactly(line(1));
  }

  @Test
  void aCrashedCommitOfSeveralTransactionsIsCutBackToTheOnesTheRestoreKnows() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    Snapshot two = sink.snapshot(2);
    write(sink, 2, 3);
    sink.snapshot(3);
    // Committing 2 and 3 together crashed after 2 and part of 3, before the marker; the pipeline
    // is restored from checkpoint 2 (3 never completed as far as the store knows).
    List<Path> pending = pendingFiles();
    assertThat(pending).hasSize(2);
    Files.write(target(0), Files.readAllBytes(pending.get(0)), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Files.write(target(0), java.util.Arrays.copyOf(Files.readAllBytes(pending.get(1)), 30), StandardOpenOption.APPEND);
    crash();

    restore(0, 1, List.of(two));
    assertThat(lines(0)).containsExactly(line(1));
    assertThat(Files.size(target(0))).isEqualTo(bytes(1));
  }

  @Test
  void aRestoreOfACheckpointThatWasCommittedAlreadyChangesNothing() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    Snapshot two = sink.snapshot(2);
    sink.checkpointComplete(2);
    crash();
    restore(0, 1, List.of(two));
    assertThat(lines(0)).containsExactly(line(1));
    crash();
    restore(0, 1, List.of(two)); // a second failure, restored from the same checkpoint
    assertThat(lines(0)).containsExactly(line(1));
  }

  @Test
  void aRestoreFromAnEarlierCheckpointTakesBackWhatWasCommittedAfterIt() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    Snapshot two = sink.snapshot(2);
    write(sink, 2);
    sink.snapshot(3);
    sink.checkpointComplete(3);
    assertThat(lines(0)).containsExactly(line(1), line(2));
    crash();
    // Checkpoint 3's state turned out corrupt: the pipeline falls back to 2 and replays from there.
    var restored = restore(0, 1, List.of(two));
    assertThat(lines(0)).containsExactly(line(1));
    write(restored, 2);
    restored.close();
    assertThat(lines(0)).containsExactly(line(1), line(2));
  }

  @ParameterizedTest(name = "restored from checkpoint {0}")
  @ValueSource(ints = {0, 1})
  void theLinesBeforeTheFirstBarrierBecomeItsTransactionWhereTheyAre(int restoredFrom) throws Exception {
    Files.createDirectories(target(0).getParent());
    Files.writeString(target(0), "old\n");
    var sink = sink(0, "{path: 'out/results.jsonl', append: true}");
    write(sink, 1);
    sink.advanceWallClock(Duration.ofSeconds(1));
    assertThat(lines(0)).containsExactly("old", line(1)); // no barrier yet: written straight away
    Snapshot one = sink.snapshot(1);
    write(sink, 2);
    sink.snapshot(2);
    crash();

    if (restoredFrom == 0) {
      // Before the first checkpoint completed: the target is cut back to where the run began.
      restore(0, 1, List.of());
      assertThat(lines(0)).containsExactly("old");
    } else {
      // From the first checkpoint: its lines, in place, are committed; line 2 comes again.
      restore(0, 1, List.of(one));
      assertThat(lines(0)).containsExactly("old", line(1));
    }
    assertThat(pendingFiles()).isEmpty();
  }

  @Test
  void aFreshStartForgetsWhatAnEarlierRunLeft() throws Exception {
    var first = sink(0);
    first.snapshot(1);
    write(first, 1);
    first.snapshot(2); // pre-committed, never completed
    crash();
    assertThat(pendingFiles()).hasSize(1);

    try (var fresh = sink(0)) { // a new run, not a restore
      write(fresh, 7);
      fresh.snapshot(1); // numbers start again: nothing of the earlier run is mistaken for committed
      fresh.checkpointComplete(1);
      assertThat(lines(0)).containsExactly(line(7));
      assertThat(pendingFiles()).isEmpty();
    }
  }

  @Test
  void aRestoreBeforeTheFirstCheckpointAfterARunThatEndedStillCommitsWhatComes() throws Exception {
    var ended = sink(0);
    ended.snapshot(1);
    write(ended, 1);
    ended.close(); // the marker says: committed through the end of the input
    sink(0, "{path: 'out/results.jsonl', append: true}"); // a new run, which fails before its first line
    crash();

    var restored = restore(0, 1, List.of()); // no checkpoint of the new run completed
    write(restored, 2);
    restored.snapshot(1);
    restored.checkpointComplete(1);
    assertThat(lines(0)).containsExactly(line(1), line(2));
  }

  @Test
  void aMissingPendingFileOfAnUncommittedTransactionFailsTheRestoreNamingIt() throws Exception {
    var sink = sink(0);
    sink.snapshot(1);
    write(sink, 1);
    Snapshot two = sink.snapshot(2);
    Path pending = single(pendingFiles());
    Files.delete(pending);
    crash();
    assertThatThrownBy(() -> restore(0, 1, List.of(two)))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("checkpoint 2")
        .hasMessageContaining(pending.getFileName().toString())
        .hasMessageContaining("lost");
  }

  // ---------------------------------------------------------------- rescaling

  @Test
  void aScaleInCommitsTheRemovedInstancesTransactions() throws Exception {
    var zero = sink(0).parallelism(2);
    var one = sink(1).parallelism(2);
    zero.snapshot(1);
    one.snapshot(1);
    write(zero, 1, 2);
    write(one, 3);
    List<Snapshot> two = List.of(zero.snapshot(2), one.snapshot(2));
    write(one, 4); // after the barrier
    one.advanceWallClock(Duration.ofSeconds(1));
    crash();

    var only = restore(0, 1, two);
    assertThat(lines(0)).containsExactly(line(1), line(2));
    assertThat(lines(1)).containsExactly(line(3));
    assertThat(pendingFiles()).isEmpty();
    write(only, 4); // the replay of what instance 1 had after the barrier now goes to instance 0
    only.close();
    assertThat(lines(0)).containsExactly(line(1), line(2), line(4));
    assertThat(lines(1)).containsExactly(line(3));
  }

  @ParameterizedTest(name = "3 -> {0}")
  @ValueSource(ints = {1, 2, 3, 4, 5})
  void afterARescaleToAnyParallelismEveryTargetIsCommitted(int parallelism) throws Exception {
    List<Snapshot> two = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      var s = sink(i).parallelism(3);
      s.snapshot(1);
      write(s, 10 * i + 1, 10 * i + 2);
      two.add(s.snapshot(2));
    }
    crash();
    for (int i = 0; i < parallelism; i++) {
      restore(i, parallelism, two);
    }
    for (int i = 0; i < 3; i++) {
      assertThat(lines(i)).as("target %d", i).containsExactly(line(10 * i + 1), line(10 * i + 2));
      assertThat(marker(i).transaction()).isEqualTo(2);
    }
    assertThat(pendingFiles()).isEmpty();
  }

  @Test
  void theTargetsKeyGoesToExactlyOneInstanceAtAnyParallelism() {
    for (int target = 0; target < 8; target++) {
      int group = io.sluice.runtime.partition.KeyGroups.keyGroup(
          utf8(FileSinkOperator.tokenKey(target)), io.sluice.runtime.partition.KeyGroups.DEFAULT_MAX_PARALLELISM);
      for (int p = 1; p <= 8; p++) {
        int owners = 0;
        for (int i = 0; i < p; i++) {
          owners += io.sluice.runtime.partition.KeyGroups.contains(
              io.sluice.runtime.partition.KeyGroups.rangeFor(i, p, 128), group) ? 1 : 0;
        }
        assertThat(owners).isOne();
      }
    }
  }

  @Test
  void aScaleOutGivesTheNewInstanceAFreshTargetAndKeepsTheOldOnesCommitted() throws Exception {
    var zero = sink(0);
    zero.snapshot(1);
    write(zero, 1);
    Snapshot two = zero.snapshot(2);
    crash();

    var a = restore(0, 2, List.of(two));
    var b = restore(1, 2, List.of(two));
    assertThat(lines(0)).containsExactly(line(1));
    write(a, 2);
    write(b, 3);
    a.snapshot(3);
    b.snapshot(3);
    a.checkpointComplete(3);
    b.checkpointComplete(3);
    assertThat(lines(0)).containsExactly(line(1), line(2));
    assertThat(lines(1)).containsExactly(line(3));
  }

  // ---------------------------------------------------------------- without checkpoints

  @Test
  void withoutCheckpointsNoFileBesideTheTargetIsWritten() throws Exception {
    try (var sink = sink(0)) {
      write(sink, 1);
      sink.advanceWallClock(Duration.ofSeconds(1));
      assertThat(lines(0)).containsExactly(line(1));
    }
    try (Stream<Path> files = Files.list(target(0).getParent())) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("results.jsonl");
    }
  }

  // ---------------------------------------------------------------- helpers

  private OperatorTestDriver<String, byte[], byte[], byte[]> sink(int index) {
    return sink(index, SETTINGS);
  }

  private OperatorTestDriver<String, byte[], byte[], byte[]> sink(int index, String settings) {
    return OperatorTestDriver.forStage(new FileSinkStageFactory(), config("out", settings, dir), index);
  }

  private OperatorTestDriver<String, byte[], byte[], byte[]> restore(int index, int parallelism, List<Snapshot> from) {
    return OperatorTestDriver.restore(new FileSinkStageFactory(), config("out", SETTINGS, dir), index, parallelism, from);
  }

  /** The process dies: its operators are gone without closing, and with them their claims. */
  private static void crash() {
    FileSinkOperator.forgetClaims();
  }

  private static void write(OperatorTestDriver<String, byte[], byte[], byte[]> sink, int... ns) {
    for (int n : ns) {
      sink.pipeRawInput(utf8("k"), utf8(Integer.toString(n)), n);
    }
  }

  private static String line(int n) {
    return "{\"id\":\"\",\"key\":\"k\",\"time\":" + n + ",\"payload\":" + n + "}";
  }

  private static long bytes(int... ns) {
    long n = 0;
    for (int i : ns) {
      n += (line(i) + "\n").getBytes(StandardCharsets.UTF_8).length;
    }
    return n;
  }

  private Path target(int index) {
    return FileSinkStageFactory.replicaPath(dir.resolve("out/results.jsonl"), index);
  }

  private List<String> lines(int index) throws IOException {
    Path file = target(index);
    return Files.exists(file) ? Files.readAllLines(file) : List.of();
  }

  private CommitMarker marker(int index) throws IOException {
    return CommitMarker.read(CommitMarker.pathFor(target(index))).orElseThrow();
  }

  private List<Path> pendingFiles() throws IOException {
    try (Stream<Path> files = Files.list(target(0).getParent())) {
      return files.filter(p -> p.getFileName().toString().contains(".pending-")).sorted().toList();
    }
  }

  private static Path single(List<Path> paths) {
    assertThat(paths).hasSize(1);
    return paths.get(0);
  }
}
