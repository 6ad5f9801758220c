package io.sluice.stages.enrich;

import static io.sluice.stages.enrich.EnrichTesting.deadNs;
import static io.sluice.stages.enrich.EnrichTesting.enrich;
import static io.sluice.stages.enrich.EnrichTesting.event;
import static io.sluice.stages.enrich.EnrichTesting.ns;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.runtime.testkit.OperatorTestDriver.Snapshot;
import io.sluice.stages.enrich.EnrichTesting.Harness;
import io.sluice.stages.enrich.LoopbackHttpServer.Answer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The enrich stage at a checkpoint: the runtime snapshots only once {@code hasPendingWork()} is
 * false, which covers every held event (queued, in a call, waiting out a backoff, finished behind
 * an earlier one), so by then each event before the barrier was emitted or dead-lettered, and the
 * snapshot holds nothing.
 */
class EnrichCheckpointTest {
  @ParameterizedTest(name = "ordered: {0}")
  @ValueSource(booleans = {true, false})
  void aSnapshotWaitsUntilEveryHeldEventIsThroughAndWritesNothing(boolean ordered) throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    LoopbackHttpServer.Responder flaky = (body, i) -> {
      int n = body.get("n").asInt();
      if (n == 0 && !release.await(20, TimeUnit.SECONDS)) {
        return new Answer(500, "{}", 0);
      }
      if (n % 3 == 1 && i < 6) {
        return new Answer(503, "{}", 0); // retried after a backoff
      }
      if (n == 5) {
        return new Answer(200, "[1]", 0); // not an object: retried until maxAge, then dead-lettered
      }
      return Answer.ok(JsonNodeFactory.instance.objectNode().put("tag", "T" + n)).after(n % 4 * 5);
    };
    try (var server = new LoopbackHttpServer(flaky)) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, concurrency: 3, maxAge: '2s',"
          + " retry: {initial: '5ms', max: '20ms'}, ordered: " + ordered + "}");
      try (var d = h.driver()) {
        for (int i = 0; i < 8; i++) {
          d.pipeRawInput(event(i));
        }
        assertThat(h.operator().hasPendingWork()).isTrue();
        assertThatThrownBy(() -> h.operator().snapshotState(new RecordingSnapshot(1)))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("checkpoint 1")
            .hasMessageContaining("still held");

        release.countDown();
        Snapshot snapshot = d.snapshot(2); // waits for hasPendingWork() to turn false
        assertThat(h.operator().hasPendingWork()).isFalse();
        assertThat(h.operator().watermarkHold()).isEqualTo(Long.MAX_VALUE);
        List<Integer> through = new ArrayList<>(ns(d.readOutputs()));
        through.addAll(deadNs(d.readDeadLetters()));
        assertThat(through).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7);
        assertThat(snapshot.file().keyGroups()).isEmpty();
        assertThat(snapshot.file().operatorState().getEntriesCount()).isZero();
      }
    }
  }

  /** A snapshot that only counts what it is given. */
  private record RecordingSnapshot(long checkpointId) implements StateSnapshot<byte[]> {
    @Override
    public boolean savepoint() {
      return false;
    }

    @Override
    public void putKeyed(byte[] key, byte[] value) {
      throw new AssertionError("enrich writes no keyed state");
    }

    @Override
    public void putOperator(byte[] value) {
      throw new AssertionError("enrich writes no operator state");
    }
  }
}
