package io.sluice.runtime.internal.task;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Barrier;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.EndOfStream;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.KeyedEntry;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.runtime.internal.exchange.ChannelPool;
import io.sluice.runtime.internal.exchange.ExchangeSettings;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
import io.sluice.runtime.internal.state.StateCollector;
import io.sluice.runtime.internal.trace.StageTracing;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Barrier alignment in a subtask with two input channels: in exactly-once mode the snapshot of
 * checkpoint n holds exactly what came before barrier n on every channel, however the channels
 * interleave; in at-least-once mode the channel that delivered its barrier is not held.
 */
class BarrierAlignmentTest {
  private static final ExchangeSettings SETTINGS = ExchangeSettings.DEFAULTS;

  private final List<Thread> threads = new ArrayList<>();
  private final List<Subtask> subtasks = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (Subtask s : subtasks) {
      s.stop("test over");
    }
    for (Thread t : threads) {
      t.join(5_000);
    }
  }

  /** Counts events per key; its state is the counts. */
  static final class Counter implements Operator<String, String, String, String> {
    final Map<String, Long> counts = new TreeMap<>();

    @Override
    public void process(Record<String, String> r) {
      counts.merge(r.key(), 1L, Long::sum);
    }

    @Override
    public void snapshotState(StateSnapshot<String> snapshot) {
      counts.forEach((k, n) -> snapshot.putKeyed(k, Long.toString(n).getBytes(StandardCharsets.UTF_8)));
    }
  }

  record Taken(long id, Map<String, Long> counts) {}

  /** A channel the test fills by hand. */
  static final class TestChannel extends InputChannel {
    TestChannel(String name, Mailbox mailbox) {
      super(name, 1_000, mailbox);
    }

    @Override
    public void release() {}

    @Override
    public void acknowledgeEnd(long eventsReceived) {}

    @Override
    public void abort(String reason) {}
  }

  private Subtask start(boolean exactlyOnce, BlockingQueue<Taken> taken, TestChannel[] channels) {
    Mailbox mailbox = new Mailbox(System::nanoTime);
    TaskMetrics metrics = new TaskMetrics();
    StageDefinition<String, String, String, String> def = StageDefinition.of(
        Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), Counter::new);
    OutputRouter router = new OutputRouter("p", "count", "count-0", 0, SETTINGS, mailbox, metrics,
        new ChannelPool(SETTINGS));
    OperatorRunner<String, String, String, String> runner = new OperatorRunner<>(
        "count", "count-0", 0, def, router, mailbox, Clock.systemUTC(), metrics, StageTracing.off());
    Subtask subtask = new Subtask("count-0", mailbox, runner, router, metrics, (s, r) -> {}, false, null, 0, null);
    subtask.checkpoints(new Subtask.Checkpoints() {
      @Override
      public boolean exactlyOnce() {
        return exactlyOnce;
      }

      @Override
      public int maxParallelism() {
        return 128;
      }

      @Override
      public void snapshotTaken(long checkpointId, boolean savepoint, StateCollector<?> state,
          long alignmentNanos, long syncNanos) {
        Map<String, Long> counts = new TreeMap<>();
        state.keyGroups().forEach(g -> {
          for (KeyedEntry e : g.getEntriesList()) {
            counts.put(e.getKey().toStringUtf8(), Long.parseLong(e.getValue().toStringUtf8()));
          }
        });
        taken.add(new Taken(checkpointId, counts));
      }
    });
    subtask.applyRoutes(RouteUpdate.newBuilder().setVersion(1).addInputs("a-0").addInputs("b-0").build());
    channels[0] = new TestChannel("a-0 → count-0", mailbox);
    channels[1] = new TestChannel("b-0 → count-0", mailbox);
    subtask.attach(channels[0], ChannelOpen.newBuilder().setFromInstance("a-0").build());
    subtask.attach(channels[1], ChannelOpen.newBuilder().setFromInstance("b-0").build());
    Thread t = new Thread(subtask, "count-0");
    threads.add(t);
    subtasks.add(subtask);
    t.start();
    return subtask;
  }

  private static Frame batch(String key, int n) {
    EventBatch.Builder b = EventBatch.newBuilder();
    for (int i = 0; i < n; i++) {
      b.addEvents(Event.newBuilder().setKey(ByteString.copyFromUtf8(key)).setPayload(ByteString.copyFromUtf8("x")));
    }
    return Frame.newBuilder().setBatch(b).build();
  }

  private static Frame barrier(long id) {
    return Frame.newBuilder().setBarrier(Barrier.newBuilder().setCheckpointId(id)).build();
  }

  @Test
  void exactlyOnceSnapshotHoldsWhatCameBeforeTheBarrierOnEveryChannel() throws Exception {
    BlockingQueue<Taken> taken = new LinkedBlockingQueue<>();
    TestChannel[] ch = new TestChannel[2];
    start(true, taken, ch);
    // a: 3 before the barrier, then 1000 after it, offered before b's barrier shows up.
    ch[0].offer(batch("a", 3));
    ch[0].offer(barrier(1));
    for (int i = 0; i < 10; i++) {
      ch[0].offer(batch("a", 100));
    }
    ch[1].offer(batch("b", 2));
    assertThat(taken.poll(300, TimeUnit.MILLISECONDS)).as("no snapshot before b's barrier").isNull();
    ch[1].offer(barrier(1));
    Taken first = taken.poll(5, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    assertThat(first.id()).isEqualTo(1);
    assertThat(first.counts()).isEqualTo(Map.of("a", 3L, "b", 2L));

    // Checkpoint 2, with b's barrier first this time; an ended channel counts as aligned.
    ch[1].offer(barrier(2));
    ch[1].offer(batch("b", 5));
    ch[0].offer(batch("a", 1));
    ch[0].offer(Frame.newBuilder().setEnd(EndOfStream.newBuilder().setReason("done")).build());
    Taken second = taken.poll(5, TimeUnit.SECONDS);
    assertThat(second).isNotNull();
    assertThat(second.id()).isEqualTo(2);
    assertThat(second.counts()).isEqualTo(Map.of("a", 1004L, "b", 2L));
  }

  @Test
  void atLeastOnceKeepsReadingAChannelThatDeliveredItsBarrier() throws Exception {
    BlockingQueue<Taken> taken = new LinkedBlockingQueue<>();
    TestChannel[] ch = new TestChannel[2];
    start(false, taken, ch);
    ch[0].offer(batch("a", 3));
    ch[0].offer(barrier(1));
    ch[0].offer(batch("a", 100));
    ch[1].offer(batch("b", 2));
    // Give the subtask time to read a's data after its barrier: not held in this mode.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    ch[1].offer(batch("b", 0));
    while (ch[0].depth() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(ch[0].depth()).as("a is read past its barrier").isZero();
    ch[1].offer(barrier(1));
    Taken first = taken.poll(5, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    assertThat(first.counts()).containsEntry("a", 103L).containsEntry("b", 2L);
  }

  @Test
  void abortReleasesTheHeldChannel() throws Exception {
    BlockingQueue<Taken> taken = new LinkedBlockingQueue<>();
    TestChannel[] ch = new TestChannel[2];
    Subtask s = start(true, taken, ch);
    ch[0].offer(barrier(1));
    ch[0].offer(batch("a", 7));
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
    while (System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(ch[0].depth()).as("held after its barrier").isEqualTo(1);
    s.abortCheckpoint(1, "timed out");
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (ch[0].depth() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(ch[0].depth()).as("read again after the abort").isZero();
    // A late barrier 1 on b is ignored; checkpoint 2 aligns normally.
    ch[1].offer(barrier(1));
    ch[0].offer(barrier(2));
    ch[1].offer(barrier(2));
    Taken t = taken.poll(5, TimeUnit.SECONDS);
    assertThat(t).isNotNull();
    assertThat(t.id()).isEqualTo(2);
    assertThat(t.counts()).isEqualTo(Map.of("a", 7L));
  }
}
