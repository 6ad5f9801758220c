package io.sluice.stages.dedup;

import static io.sluice.stages.StageConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DedupStageTest {
  private static final long MINUTE = 60_000;

  /** A driver and the operator it runs, so a test can look at the operator's state. */
  record Harness(OperatorTestDriver<byte[], byte[], byte[], byte[]> driver, DedupOperator operator) {}

  static Harness dedup(String settings) {
    StageDefinition<byte[], byte[], byte[], byte[]> def =
        new DedupStageFactory().create(config("distinct", settings));
    DedupOperator op = (DedupOperator) def.operator().get();
    var driver = new OperatorTestDriver<>(
        new StageDefinition<>(def.keyIn(), def.valueIn(), def.keyOut(), def.valueOut(), () -> op, def.sideOutputs()),
        "distinct");
    return new Harness(driver, op);
  }

  private static Event event(String id, String key, long time, String payload) {
    return Event.newBuilder()
        .setId(id)
        .setKey(com.google.protobuf.ByteString.copyFromUtf8(key))
        .setEventTime(time)
        .setPayload(com.google.protobuf.ByteString.copyFromUtf8(payload))
        .build();
  }

  private static List<String> ids(List<Event> events) {
    return events.stream().map(e -> e.getId() + "@" + e.getEventTime()).toList();
  }

  @Test
  void passesTheFirstOfEachIdPerBucketWithItsBytesUnchanged() {
    Harness h = dedup("{by: 'id', bucket: '1m'}");
    try (var d = h.driver()) {
      String odd = "{ \"n\" :1 ,\n \"x\": [1, 2] }";
      d.pipeRawInput(event("a", "k", 1_000, odd));
      d.pipeRawInput(event("b", "k", 2_000, "not json at all"));
      d.pipeRawInput(event("a", "k", 3_000, "{\"n\":2}"));
      d.pipeRawInput(event("c", "k", 4_000, "{}"));
      d.pipeRawInput(event("b", "k", 59_999, "{}"));
      List<Event> out = d.readOutputEvents();
      assertThat(ids(out)).containsExactly("a@1000", "b@2000", "c@4000");
      assertThat(out.get(0)).isEqualTo(event("a", "k", 1_000, odd));
      assertThat(out.get(1).getPayload().toStringUtf8()).isEqualTo("not json at all");
      assertThat(d.readDeadLetters()).isEmpty();
      assertThat(d.readSideOutput("late")).isEmpty();
    }
  }

  @Test
  void aDuplicateInALaterBucketPassesOncePerBucket() {
    Harness h = dedup("{bucket: '1m'}"); // by: id is the default
    try (var d = h.driver()) {
      for (long t : new long[] {0, 30_000, MINUTE - 1, MINUTE, 90_000, 2 * MINUTE - 1, 2 * MINUTE, -1, -MINUTE}) {
        d.pipeRawInput(event("a", "k", t, "{}"));
      }
      assertThat(ids(d.readOutputEvents())).containsExactly("a@0", "a@60000", "a@120000", "a@-1");
    }
  }

  @Test
  void theKeyIsPartOfTheValueSoTheSameIdUnderTwoKeysPassesTwice() {
    Harness h = dedup("{bucket: '1h'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("a", "k1", 0, "{}"));
      d.pipeRawInput(event("a", "k2", 0, "{}"));
      d.pipeRawInput(event("a", "k1", 1, "{}"));
      // Length-prefixed key: ("ab", "c") is not ("a", "bc").
      d.pipeRawInput(event("c", "ab", 0, "{}"));
      d.pipeRawInput(event("bc", "a", 0, "{}"));
      assertThat(d.readOutputEvents()).extracting(e -> e.getKey().toStringUtf8() + "/" + e.getId())
          .containsExactly("k1/a", "k2/a", "ab/c", "a/bc");
    }
  }

  @Test
  void byKeyPassesTheFirstEventOfEachKeyPerBucket() {
    Harness h = dedup("{by: 'key', bucket: '1m'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("1", "u1", 0, "{}"));
      d.pipeRawInput(event("2", "u1", 10, "{}"));
      d.pipeRawInput(event("3", "u2", 20, "{}"));
      d.pipeRawInput(event("", "u2", 30, "{}")); // no id is fine when deduplicating by key
      d.pipeRawInput(event("5", "u1", MINUTE, "{}"));
      assertThat(d.readOutputEvents()).extracting(Event::getId).containsExactly("1", "3", "5");
      assertThat(d.readDeadLetters()).isEmpty();
    }
  }

  @Test
  void byPathComparesTheFieldsJsonTextAndDeadLettersWhatItCannotRead() {
    Harness h = dedup("{by: '$.order.id', bucket: '1m'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("1", "k", 0, "{\"order\": {\"id\": \"5\"}}"));
      d.pipeRawInput(event("2", "k", 1, "{\"order\": {\"id\": 5}}")); // the number is another value
      d.pipeRawInput(event("3", "k", 2, "{\"order\":{\"id\":\"5\"},\"other\":1}")); // duplicate of 1
      d.pipeRawInput(event("4", "k", 3, "{\"order\": {\"id\": {\"a\": [1, 2]}}}"));
      d.pipeRawInput(event("5", "k", 4, "{\"order\": {\"id\": {\"a\":[1,2]}}}")); // duplicate of 4
      d.pipeRawInput(event("6", "k", 5, "{\"order\": {}}"));
      d.pipeRawInput(event("7", "k", 6, "{\"order\": {\"id\": null}}"));
      d.pipeRawInput(event("8", "k", 7, "{\"order\": "));
      assertThat(d.readOutputEvents()).extracting(Event::getId).containsExactly("1", "2", "4");
      List<DeadLetter> dead = d.readDeadLetters();
      assertThat(dead).extracting(l -> l.input().getId()).containsExactly("6", "7", "8");
      assertThat(dead.get(0).reason()).isEqualTo("dedup: $.order.id is missing from the payload (by: $.order.id)");
      assertThat(dead.get(1).reason()).isEqualTo("dedup: $.order.id is null in the payload (by: $.order.id)");
      assertThat(dead.get(2).reason()).startsWith("dedup: the payload is not JSON, so $.order.id cannot be read: ");
      assertThat(dead.get(2).payloadAsString()).isEqualTo("{\"order\": ");
    }
  }

  @Test
  void anEventWithoutAnIdIsDeadLetteredWhenDeduplicatingById() {
    Harness h = dedup("{bucket: '1m'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("", "k", 0, "{}"));
      assertThat(d.readOutputEvents()).isEmpty();
      assertThat(d.readDeadLetters()).singleElement()
          .extracting(DeadLetter::reason).isEqualTo("dedup: the event has no id to deduplicate by (by: id)");
    }
  }

  @Test
  void anEventOfAnExpiredBucketGoesToTheLateOutputUnchanged() {
    Harness h = dedup("{bucket: '1m'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("a", "k", 10, "{}"));
      d.advanceWatermark(MINUTE - 2); // bucket [0, 60000) is still open at 59998
      d.pipeRawInput(event("a", "k", 20, "{}"));
      d.pipeRawInput(event("b", "k", 30, "{}"));
      d.advanceWatermark(MINUTE - 1); // ... and expires at end - 1 = 59999
      d.pipeRawInput(event("a", "k", 40, "{\"late\": true}"));
      d.pipeRawInput(event("c", "k", 50, "{}"));
      d.pipeRawInput(event("c", "k", MINUTE, "{}"));
      assertThat(ids(d.readOutputEvents())).containsExactly("a@10", "b@30", "c@60000");
      List<Event> late = d.readSideOutputEvents("late");
      assertThat(ids(late)).containsExactly("a@40", "c@50");
      assertThat(late.get(0)).isEqualTo(event("a", "k", 40, "{\"late\": true}"));
    }
  }

  @Test
  void allowedLatenessKeepsABucketOpenThatLongAfterItsEnd() {
    Harness h = dedup("{bucket: '1m', allowedLateness: '5s'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("a", "k", 10, "{}"));
      d.advanceWatermark(MINUTE - 1 + 5_000 - 1);
      d.pipeRawInput(event("a", "k", 20, "{}")); // still a duplicate, not late
      d.pipeRawInput(event("b", "k", 30, "{}"));
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(1);
      d.advanceWatermark(MINUTE - 1 + 5_000);
      d.pipeRawInput(event("d", "k", 40, "{}"));
      assertThat(ids(d.readOutputEvents())).containsExactly("a@10", "b@30");
      assertThat(ids(d.readSideOutputEvents("late"))).containsExactly("d@40");
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  @Test
  void expiredBucketsAreDroppedWithTheirTimers() {
    Harness h = dedup("{bucket: '1m'}");
    DedupOperator op = h.operator();
    try (var d = h.driver()) {
      for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 100; i++) {
          d.pipeRawInput(event("e" + i, "k", b * MINUTE + i, "{}"));
        }
      }
      assertThat(op.openBuckets()).isEqualTo(3);
      assertThat(op.distinctValues()).isEqualTo(300);
      // 100 values in a 256-slot table (grown from 16 by doubling at 3/4 load) = 4 KiB per bucket.
      assertThat(op.stateBytes()).isEqualTo(3 * 256 * 16);
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(3); // one per bucket, not per key

      d.advanceWatermark(2 * MINUTE - 1);
      assertThat(op.openBuckets()).isEqualTo(1);
      assertThat(op.distinctValues()).isEqualTo(100);
      assertThat(op.stateBytes()).isEqualTo(256 * 16);
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(1);

      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(op.openBuckets()).isZero();
      assertThat(op.stateBytes()).isZero();
      assertThat(d.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
      assertThat(d.readOutputEvents()).hasSize(300);
    }
  }

  @Test
  void aBucketReopenedAfterExpiryIsNotPossibleItsEventsAreLate() {
    // Once dropped, a bucket's duplicates must not pass again as "first occurrences".
    Harness h = dedup("{bucket: '1m'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("a", "k", 5, "{}"));
      d.advanceWatermark(MINUTE);
      d.pipeRawInput(event("a", "k", 5, "{}"));
      assertThat(d.readOutputEvents()).hasSize(1);
      assertThat(d.readSideOutputEvents("late")).hasSize(1);
      assertThat(h.operator().openBuckets()).isZero();
    }
  }

  @Test
  void eventTimesAtTheEdgesOfTheLongRangeDoNotOverflow() {
    Harness h = dedup("{bucket: '1h', allowedLateness: '1d'}");
    try (var d = h.driver()) {
      d.pipeRawInput(event("a", "k", Long.MAX_VALUE, "{}"));
      d.pipeRawInput(event("a", "k", Long.MAX_VALUE - 1, "{}"));
      d.pipeRawInput(event("a", "k", Long.MIN_VALUE, "{}"));
      d.pipeRawInput(event("a", "k", Long.MIN_VALUE + 1, "{}"));
      assertThat(ids(d.readOutputEvents())).containsExactly("a@" + Long.MAX_VALUE, "a@" + Long.MIN_VALUE);
      d.advanceWatermark(Long.MAX_VALUE);
      assertThat(h.operator().openBuckets()).isZero();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{by: 'id'}                                 | bucket          | 'bucket' is required",
        "{bucket: '0ms'}                            | bucket          | 'bucket' must be at least 1ms",
        "{bucket: 'soon'}                           | bucket          | 'bucket' is not a duration",
        "{bucket: '1m', by: 'order.id'}             | by              | 'by' must be id, key or a JSON path",
        "{bucket: '1m', by: '$.order[1'}            | by              | 'by' is not a JSON path",
        "{bucket: '1m', by: {field: 'x'}}           | by              | 'by' must be a string",
        "{bucket: '1m', allowedLateness: -5}        | allowedLateness | 'allowedLateness' must not be negative",
        "{bucket: '1m', allowedLateness: 'a while'} | allowedLateness | 'allowedLateness' is not a duration",
      })
  void badSettingsAreRejectedNamingTheKey(String settings, String key, String message) {
    assertThatThrownBy(() -> new DedupStageFactory().create(config("distinct", settings)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(message)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key));
  }

  @Test
  void isAStatefulStageWithALateSideOutput() {
    var factory = new DedupStageFactory();
    assertThat(factory.type()).isEqualTo("dedup");
    assertThat(factory.stateful()).isTrue();
    assertThat(factory.create(config("distinct", "{bucket: '1m'}")).sideOutputs())
        .extracting(t -> t.name()).containsExactly("late");
  }
}
