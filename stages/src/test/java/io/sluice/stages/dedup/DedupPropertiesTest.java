package io.sluice.stages.dedup;

import static io.sluice.stages.StageConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** The dedup operator against a plain reference model, and the fingerprint set against a HashSet. */
class DedupPropertiesTest {
  private static final long BUCKET = 1_000;

  /**
   * One step: an event, or a watermark when {@code watermark} is true. A watermark's {@code time}
   * is relative to a bucket's expiry: the test adds {@code allowedLateness - 1}, so that watermarks
   * land on and right beside the expiry of some bucket, where off-by-one mistakes live.
   */
  record Step(boolean watermark, String key, String id, long time) {}

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Step> event =
        Combinators.combine(
                Arbitraries.of("k0", "k1", "k2"),
                Arbitraries.of("a", "b", "c", "d", "e"),
                Arbitraries.longs().between(-BUCKET, 5 * BUCKET))
            .as((k, id, t) -> new Step(false, k, id, t));
    Arbitrary<Step> watermark =
        Combinators.combine(Arbitraries.longs().between(-1, 6), Arbitraries.longs().between(-2, 2))
            .as((k, delta) -> new Step(true, null, null, k * BUCKET + delta));
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(8, event), net.jqwik.api.Tuple.of(1, watermark))
        .list()
        .ofMaxSize(200);
  }

  @Provide
  Arbitrary<Long> lateness() {
    return Arbitraries.oneOf(Arbitraries.of(0L, 1L, BUCKET - 1, BUCKET), Arbitraries.longs().between(0, 2 * BUCKET));
  }

  @Property(tries = 300)
  void matchesTheReferenceModel(
      @ForAll("steps") List<Step> steps, @ForAll("lateness") long lateness) {
    StageDefinition<byte[], byte[], byte[], byte[]> def =
        new DedupStageFactory().create(config("distinct", "{bucket: " + BUCKET + ", allowedLateness: " + lateness + "}"));
    DedupOperator op = (DedupOperator) def.operator().get();
    var driver = new OperatorTestDriver<>(
        new StageDefinition<>(def.keyIn(), def.valueIn(), def.keyOut(), def.valueOut(), () -> op, def.sideOutputs()),
        "distinct");

    List<String> expectedOut = new ArrayList<>();
    List<String> expectedLate = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    long watermark = Long.MIN_VALUE;
    int n = 0;
    for (Step s : steps) {
      if (s.watermark()) {
        long w = s.time() + lateness - 1;
        watermark = Math.max(watermark, w);
        driver.advanceWatermark(w);
        continue;
      }
      String label = s.key() + "/" + s.id() + "#" + n++;
      long start = Math.floorDiv(s.time(), BUCKET) * BUCKET;
      if (start + BUCKET - 1 + lateness <= watermark) {
        expectedLate.add(label);
      } else if (seen.add(s.key() + "/" + s.id() + "/" + start)) {
        expectedOut.add(label);
      }
      driver.pipeRawInput(
          Event.newBuilder()
              .setId(s.id())
              .setKey(ByteString.copyFromUtf8(s.key()))
              .setEventTime(s.time())
              .setPayload(ByteString.copyFromUtf8(label))
              .build());
    }
    assertThat(payloads(driver.readOutputEvents())).containsExactlyElementsOf(expectedOut);
    assertThat(payloads(driver.readSideOutputEvents("late"))).containsExactlyElementsOf(expectedLate);
    driver.advanceWatermark(Long.MAX_VALUE);
    assertThat(op.openBuckets()).isZero();
    driver.close();
  }

  private static List<String> payloads(List<Event> events) {
    return events.stream().map(e -> e.getPayload().toStringUtf8()).toList();
  }

  @Property(tries = 200)
  void fingerprintSetIsASet(@ForAll @Size(max = 2_000) List<@IntRange(min = 0, max = 3_000) Integer> values) {
    FingerprintSet set = new FingerprintSet();
    Set<Integer> reference = new HashSet<>();
    for (int v : values) {
      // Seven home slots only, so that probe chains collide and wrap around the table; v = 0
      // gives (0, 0), the empty-slot marker, which the set must still store.
      long hi = v % 7;
      long lo = v;
      assertThat(set.add(hi, lo)).isEqualTo(reference.add(v));
      assertThat(set.contains(hi, lo)).isTrue();
    }
    assertThat(set.size()).isEqualTo(reference.size());
    assertThat(set.size()).isLessThanOrEqualTo(set.capacity() * 3 / 4);
    assertThat(set.tableBytes()).isEqualTo(16L * set.capacity());
  }
}
