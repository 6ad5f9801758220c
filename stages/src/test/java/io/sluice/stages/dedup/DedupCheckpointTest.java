package io.sluice.stages.dedup;

import static io.sluice.stages.StageConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.partition.KeyGroups;
import io.sluice.runtime.testkit.OperatorTestDriver;
import io.sluice.runtime.testkit.OperatorTestDriver.Snapshot;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Checkpoints of the dedup stage: its fingerprints are operator-wide state, handed to every
 * instance on restore, so a duplicate that arrives after a restore is dropped, at the same
 * parallelism or after a rescale, and a bucket that expired before stays expired.
 */
class DedupCheckpointTest {
  private static final long BUCKET = 1_000;
  private static final String STAGE = "distinct";
  private static final int MAX_P = KeyGroups.DEFAULT_MAX_PARALLELISM;

  /** An event, or (key null) a watermark at {@code time}. */
  record Step(String key, String id, long time) {}

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Step> event =
        Combinators.combine(
                Arbitraries.of("k0", "k1", "k2", "k3", "k4", "k5"),
                Arbitraries.of("a", "b", "c", "d"),
                Arbitraries.longs().between(-BUCKET, 5 * BUCKET))
            .as(Step::new);
    Arbitrary<Step> watermark =
        Combinators.combine(Arbitraries.longs().between(-1, 6), Arbitraries.longs().between(-2, 2))
            .as((k, delta) -> new Step(null, null, k * BUCKET + delta));
    return Arbitraries.frequencyOf(Tuple.of(8, event), Tuple.of(1, watermark)).list().ofMaxSize(150);
  }

  @Property(tries = 300)
  void aRestoreAtAnyParallelismDropsWhatTheUninterruptedRunDrops(
      @ForAll("steps") List<Step> steps,
      @ForAll @IntRange(min = 0, max = 150) int cutAt,
      @ForAll @IntRange(min = 1, max = 3) int before,
      @ForAll @IntRange(min = 1, max = 4) int after,
      @ForAll @IntRange(min = 0, max = 2_000) int lateness) {
    String settings = "{bucket: " + BUCKET + ", allowedLateness: " + lateness + "}";
    int cut = Math.min(cutAt, steps.size());
    assertThat(run(settings, steps, cut, before, after)).isEqualTo(run(settings, steps, steps.size(), 1, 1));
  }

  @Test
  void aDuplicateAfterARestoreIsDroppedAlsoAfterARescale() {
    String settings = "{bucket: '1m'}";
    String k0 = key(0, 2);
    String k1 = key(1, 2);
    var a = driver(settings, 0, 2);
    var b = driver(settings, 1, 2);
    a.pipeRawInput(event("x", k0, 1_000));
    b.pipeRawInput(event("x", k1, 2_000));
    assertThat(a.readOutputEvents()).hasSize(1);
    assertThat(b.readOutputEvents()).hasSize(1);
    List<Snapshot> snapshots = List.of(a.snapshot(1), b.snapshot(1));

    for (int parallelism : new int[] {1, 2, 3}) {
      List<OperatorTestDriver<byte[], byte[], byte[], byte[]>> restored = new ArrayList<>();
      for (int i = 0; i < parallelism; i++) {
        restored.add(restore(settings, i, parallelism, snapshots));
      }
      var forK0 = restored.get(owner(k0, parallelism));
      var forK1 = restored.get(owner(k1, parallelism));
      forK0.pipeRawInput(event("x", k0, 3_000)); // a duplicate of before the restore
      forK1.pipeRawInput(event("x", k1, 4_000));
      forK0.pipeRawInput(event("y", k0, 5_000)); // new
      assertThat(forK0.readOutputEvents()).extracting(Event::getId).as("at %d", parallelism).containsExactly("y");
      assertThat(forK1.readOutputEvents()).as("at %d", parallelism).isEmpty();
      for (var d : restored) {
        // Every instance holds the bucket and its timer, whoever owns the timer's key group now.
        assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isOne();
        d.advanceWatermark(60_000 - 1);
        assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
      }
      forK0.pipeRawInput(event("x", k0, 6_000)); // its bucket has expired
      assertThat(forK0.readSideOutputEvents("late")).extracting(Event::getId).containsExactly("x");
      restored.forEach(OperatorTestDriver::close);
    }
  }

  @Test
  void aBucketExpiredBeforeTheRestoreStaysExpiredBeforeAnyWatermarkArrives() {
    String settings = "{bucket: '1m'}";
    Snapshot snapshot;
    try (var d = driver(settings, 0, 1)) {
      d.pipeRawInput(event("x", "k", 1_000));
      d.advanceWatermark(60_000); // [0, 60000) expired
      snapshot = d.snapshot(1);
    }
    try (var d = restore(settings, 0, 1, List.of(snapshot))) {
      d.pipeRawInput(event("x", "k", 2_000));
      assertThat(d.readOutputEvents()).isEmpty();
      assertThat(d.readSideOutputEvents("late")).extracting(Event::getId).containsExactly("x");
    }
  }

  @Test
  void aCheckpointWithOtherBucketsIsRefused() {
    Snapshot snapshot;
    try (var d = driver("{bucket: '1m'}", 0, 1)) {
      d.pipeRawInput(event("x", "k", 1_000));
      snapshot = d.snapshot(9);
    }
    assertThatThrownBy(() -> restore("{bucket: '30s'}", 0, 1, List.of(snapshot)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("checkpoint 9")
        .hasMessageContaining("60000ms long")
        .hasMessageContaining("30000ms");
  }

  @Test
  void theStateIsSixteenBytesPerValue() {
    try (var d = driver("{bucket: '1m'}", 0, 1)) {
      for (int i = 0; i < 1000; i++) {
        d.pipeRawInput(event("e" + i, "k", i));
      }
      Snapshot snapshot = d.snapshot(1);
      assertThat(snapshot.sizeBytes()).isBetween(16_000L, 16_200L);
    }
  }

  // ---------------------------------------------------------------- running

  /** Per key, what passed and what went late (ids and step numbers), of a run cut before {@code cut}. */
  private static Map<String, List<String>> run(String settings, List<Step> steps, int cut, int before, int after) {
    Map<String, List<String>> out = new TreeMap<>();
    List<OperatorTestDriver<byte[], byte[], byte[], byte[]>> drivers = new ArrayList<>();
    for (int i = 0; i < before; i++) {
      drivers.add(driver(settings, i, before));
    }
    for (int i = 0; i <= steps.size(); i++) {
      if (i == cut) {
        List<Snapshot> snapshots = new ArrayList<>();
        for (var d : drivers) {
          snapshots.add(d.snapshot(1));
        }
        drivers = new ArrayList<>();
        for (int j = 0; j < after; j++) {
          drivers.add(restore(settings, j, after, snapshots));
        }
      }
      if (i == steps.size()) {
        break;
      }
      Step s = steps.get(i);
      if (s.key() == null) {
        for (var d : drivers) {
          d.advanceWatermark(s.time());
        }
        continue;
      }
      var d = drivers.get(owner(s.key(), drivers.size()));
      d.pipeRawInput(event(s.id(), s.key(), s.time()).toBuilder().putAttributes("step", Integer.toString(i)).build());
      for (Event e : d.readOutputEvents()) {
        out.computeIfAbsent(s.key(), k -> new ArrayList<>()).add("pass " + e.getId() + "#" + e.getAttributesOrThrow("step"));
      }
      for (Event e : d.readSideOutputEvents("late")) {
        out.computeIfAbsent(s.key(), k -> new ArrayList<>()).add("late " + e.getId() + "#" + e.getAttributesOrThrow("step"));
      }
      assertThat(d.readDeadLetters()).isEmpty();
    }
    return out;
  }

  private static Event event(String id, String key, long time) {
    return Event.newBuilder()
        .setId(id)
        .setKey(ByteString.copyFromUtf8(key))
        .setEventTime(time)
        .setPayload(ByteString.copyFromUtf8("{}"))
        .build();
  }

  private static OperatorTestDriver<byte[], byte[], byte[], byte[]> driver(String settings, int index, int parallelism) {
    return OperatorTestDriver.<byte[], byte[], byte[], byte[]>forStage(new DedupStageFactory(), config(STAGE, settings), index)
        .parallelism(parallelism);
  }

  private static OperatorTestDriver<byte[], byte[], byte[], byte[]> restore(
      String settings, int index, int parallelism, List<Snapshot> snapshots) {
    return OperatorTestDriver.restore(new DedupStageFactory(), config(STAGE, settings), index, parallelism, snapshots);
  }

  private static int owner(String key, int parallelism) {
    int group = KeyGroups.keyGroup(key.getBytes(StandardCharsets.UTF_8), MAX_P);
    return KeyGroups.instanceFor(group, parallelism, MAX_P);
  }

  /** A key that instance {@code index} of {@code parallelism} owns. */
  private static String key(int index, int parallelism) {
    for (int i = 0; ; i++) {
      if (owner("k" + i, parallelism) == index) {
        return "k" + i;
      }
    }
  }
}
