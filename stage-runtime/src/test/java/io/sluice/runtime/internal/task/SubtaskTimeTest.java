package io.sluice.runtime.internal.task;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.internal.exchange.ChannelPool;
import io.sluice.runtime.internal.exchange.ExchangeSettings;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
import io.sluice.runtime.internal.trace.StageTracing;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The subtask's busy time grows while it works, not only when it parks: a saturated subtask, one
 * that always has input and never waits, still reports busy milliseconds every second (the
 * Prometheus figure is their rate).
 */
class SubtaskTimeTest {
  /** Spends two milliseconds of CPU on every record. */
  static final class Slow implements Operator<String, String, String, String> {
    @Override
    public void process(Record<String, String> r) {
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2);
      while (System.nanoTime() < until) {
        Thread.onSpinWait();
      }
    }
  }

  @Test
  void aSaturatedSubtaskReportsBusyTimeWhileItWorks() throws Exception {
    ExchangeSettings settings = ExchangeSettings.DEFAULTS;
    Mailbox mailbox = new Mailbox(System::nanoTime);
    TaskMetrics metrics = new TaskMetrics();
    OutputRouter router = new OutputRouter("p", "slow", "slow-0", 0, settings, mailbox, metrics,
        new ChannelPool(settings));
    OperatorRunner<String, String, String, String> runner = new OperatorRunner<>("slow", "slow-0", 0,
        StageDefinition.of(Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), Slow::new),
        router, mailbox, Clock.systemUTC(), metrics, StageTracing.off());
    Subtask subtask = new Subtask("slow-0", mailbox, runner, router, metrics, (s, r) -> {}, false, null, 0, null);
    subtask.applyRoutes(RouteUpdate.newBuilder().setVersion(1).addInputs("a-0").build());
    BarrierAlignmentTest.TestChannel ch = new BarrierAlignmentTest.TestChannel("a-0 → slow-0", mailbox);
    subtask.attach(ch, ChannelOpen.newBuilder().setFromInstance("a-0").build());
    Thread thread = new Thread(subtask, "slow-0");
    thread.start();
    try {
      // 500 one-event frames: a second of work, all queued, so the subtask never waits.
      for (int i = 0; i < 500; i++) {
        ch.offer(Frame.newBuilder().setBatch(EventBatch.newBuilder().addEvents(
            Event.newBuilder().setKey(ByteString.copyFromUtf8("k")).setPayload(ByteString.copyFromUtf8("x"))))
            .build());
      }
      long start = System.nanoTime();
      Thread.sleep(400); // let the subtask work; it reports nothing to wait for
      long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
      long busy = metrics.busyMillis();
      assertThat(ch.depth()).as("still saturated: input left").isPositive();
      assertThat(busy).as("busy ms after %d ms of saturated work", elapsedMillis)
          .isGreaterThanOrEqualTo(elapsedMillis / 2);
      assertThat(metrics.idleMillis() + metrics.backpressuredMillis())
          .as("idle + backpressured ms while saturated").isLessThan(elapsedMillis / 2);
    } finally {
      subtask.stop("test over");
      thread.join(5_000);
    }
  }
}
