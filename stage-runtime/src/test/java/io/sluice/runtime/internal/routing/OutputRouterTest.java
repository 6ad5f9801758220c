package io.sluice.runtime.internal.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.OutputRoute;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.RouteTarget;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.internal.exchange.ChannelPool;
import io.sluice.runtime.internal.exchange.ExchangeSettings;
import io.sluice.runtime.internal.exchange.OutputChannel;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.partition.KeyGroups;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The output router over real gRPC: one {@link RecordingReceiver} per downstream instance on
 * loopback Netty (the router dials targets by host and port through {@link ChannelPool}), and this
 * test thread as the subtask thread that owns the mailbox. Nothing sleeps: waits loop on the
 * mailbox with a deadline until a condition holds. Claims that something did <em>not</em> arrive
 * are made after the end handshake, whose ack means the receiver has seen everything sent before.
 */
class OutputRouterTest {
  private static final int MAX_P = 128;
  private static final int BATCH = 4;
  private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /**
   * Small batches so that flushing on count is exercised; a linger that never fires during a test,
   * so that what is sent when is decided by the batch size and the end alone.
   */
  private static final ExchangeSettings SMALL_BATCHES =
      new ExchangeSettings(
          64 * 1024, 16 * 1024, 4, 4 * 1024 * 1024, BATCH, 16 * 1024, Duration.ofHours(1));

  /** Small batches with a short linger, for a test that relies on the linger to send the tail. */
  private static final ExchangeSettings SHORT_LINGER =
      new ExchangeSettings(
          64 * 1024, 16 * 1024, 4, 4 * 1024 * 1024, BATCH, 16 * 1024, Duration.ofMillis(2));

  private final Mailbox mailbox = new Mailbox(System::nanoTime);
  private final TaskMetrics metrics = new TaskMetrics();
  private final List<RecordingReceiver> receivers = new ArrayList<>();
  private ChannelPool pool;
  private OutputRouter router;

  @BeforeEach
  void bindMailbox() {
    mailbox.bindToCurrentThread();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    // Servers first: their streams are cancelled, so the pool's graceful shutdown does not wait.
    for (RecordingReceiver r : receivers) {
      r.stop();
    }
    if (pool != null) {
      pool.close();
    }
  }

  @Test
  void hashSendsEachEventOnceToTheTargetOwningItsKeyGroup() throws IOException {
    RecordingReceiver[] rx = receivers("sink-0", "sink-1", "sink-2");
    KeyGroupRange[] ranges = new KeyGroupRange[3];
    OutputRoute.Builder route = route("", "sink", Partitioning.PARTITIONING_HASH, 3);
    for (int i = 0; i < 3; i++) {
      ranges[i] = KeyGroups.rangeFor(i, 3, MAX_P);
      route.addTargets(rx[i].target(i, ranges[i]));
    }
    newRouter(0, SMALL_BATCHES);
    router.apply(update(1, route.build()));

    Map<Integer, List<String>> expected = new HashMap<>();
    for (int seq = 0; seq < 2_000; seq++) {
      Event e = event(seq, variedKey(seq));
      int keyGroup = KeyGroups.keyGroup(e.getKey().toByteArray(), MAX_P);
      int owner = ownerOf(ranges, keyGroup);
      assertThat(owner).as("owner of key group %d", keyGroup)
          .isEqualTo(KeyGroups.instanceFor(keyGroup, 3, MAX_P));
      expected.computeIfAbsent(owner, k -> new ArrayList<>()).add(e.getId());
      send("", e);
    }
    endAllAndAwaitAcks();

    for (int t = 0; t < 3; t++) {
      assertThat(expected.get(t)).as("keys chosen so that every target owns some").isNotEmpty();
      // Exactly the events it owns, once each, in the order they were emitted (one stream each).
      assertThat(rx[t].eventIds()).as("events at %s", rx[t].instanceId())
          .containsExactlyElementsOf(expected.get(t));
      assertNoProtocolErrors(rx[t]);
    }
  }

  @Test
  void roundRobinSendsWholeBatchesToOneTargetAtATime() throws IOException {
    RecordingReceiver[] rx = receivers("sink-0", "sink-1");
    newRouter(0, SMALL_BATCHES);
    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 2, rx[0].target(0), rx[1].target(1))
            .build()));

    int events = 100 * BATCH;
    for (int seq = 0; seq < events; seq++) {
      send("", event(seq, ByteString.copyFromUtf8("k" + seq)));
    }
    endAllAndAwaitAcks();

    List<Integer> all = new ArrayList<>();
    for (RecordingReceiver r : rx) {
      List<Integer> seqs = seqs(r);
      assertThat(seqs).as("events at %s", r.instanceId()).isNotEmpty();
      assertThat(r.streams().get(0).batchSizes()).as("batch sizes at %s", r.instanceId())
          .containsOnly(BATCH);
      // Runs of consecutive sequence numbers: a batch goes whole to one target, so every run
      // is a whole number of batches. Per-event round robin would give runs of one.
      int run = 1;
      for (int i = 1; i <= seqs.size(); i++) {
        if (i < seqs.size() && seqs.get(i) == seqs.get(i - 1) + 1) {
          run++;
        } else {
          assertThat(run % BATCH).as("run of %d ending at seq %d on %s", run, seqs.get(i - 1),
              r.instanceId()).isZero();
          run = 1;
        }
      }
      all.addAll(seqs);
      assertNoProtocolErrors(r);
    }
    assertThat(all).containsExactlyInAnyOrderElementsOf(range(0, events));
  }

  @Test
  void broadcastSendsEveryEventToEveryTargetInOrder() throws IOException {
    RecordingReceiver[] rx = receivers("sink-0", "sink-1", "sink-2");
    newRouter(0, SHORT_LINGER);
    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_BROADCAST, 3,
            rx[0].target(0), rx[1].target(1), rx[2].target(2)).build()));

    // Not a multiple of the batch size: the tail is sent by the linger, not by a count or the end.
    int events = 50 * BATCH + 3;
    for (int seq = 0; seq < events; seq++) {
      send("", event(seq, ByteString.copyFromUtf8("k" + seq % 5)));
    }
    awaitUntil(() -> "every target to receive " + events + " events",
        () -> rx[0].eventCount() == events && rx[1].eventCount() == events
            && rx[2].eventCount() == events);
    endAllAndAwaitAcks();

    for (RecordingReceiver r : rx) {
      assertThat(seqs(r)).as("events at %s", r.instanceId()).containsExactlyElementsOf(range(0, events));
      assertNoProtocolErrors(r);
    }
  }

  @Test
  void forwardSendsEverythingToTheTargetWithTheSenderIndexModuloParallelism() throws IOException {
    RecordingReceiver[] rx = receivers("sink-0", "sink-1");
    newRouter(1, SMALL_BATCHES);
    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_FORWARD, 2, rx[0].target(0), rx[1].target(1))
            .build()));

    int events = 10 * BATCH + 1;
    for (int seq = 0; seq < events; seq++) {
      send("", event(seq, ByteString.copyFromUtf8("k" + seq)));
    }
    endAllAndAwaitAcks();

    assertThat(seqs(rx[1])).containsExactlyElementsOf(range(0, events));
    // Its channel exists (opened and ended) but carried nothing.
    assertThat(rx[0].streamsOpened()).isEqualTo(1);
    assertThat(rx[0].eventCount()).isZero();
    assertNoProtocolErrors(rx[0]);
    assertNoProtocolErrors(rx[1]);
  }

  @Test
  void isReadyOnlyWhenEveryOutputHasAllItsTargetsAndKeyGroups() throws IOException {
    RecordingReceiver[] rx = receivers("sink-0", "sink-1");
    newRouter(0, SMALL_BATCHES);
    assertThat(router.routed()).isFalse();
    assertThat(router.isReady()).isFalse();
    assertThat(router.notReadyReason()).isEqualTo("waiting for routes");

    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 2, rx[0].target(0)).build()));
    // The one channel is connected and ready: only the missing target holds the router back.
    awaitUntil(() -> "the channel to sink-0 to be ready", this::allChannelsReady);
    assertThat(router.routed()).isTrue();
    assertThat(router.isReady()).isFalse();
    assertThat(router.notReadyReason()).contains("1 of 2");

    router.apply(update(2,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 2, rx[0].target(0), rx[1].target(1))
            .build()));
    awaitUntil(() -> "the router to be ready", router::isReady);
    assertThat(router.notReadyReason()).isEqualTo("ready");

    // Hash: all targets present and connected, but key group 64 has no owner.
    router.apply(update(3,
        route("", "sink", Partitioning.PARTITIONING_HASH, 2,
            rx[0].target(0, keyGroups(0, 64)), rx[1].target(1, keyGroups(65, MAX_P))).build()));
    assertThat(router.channels()).hasSize(2).allMatch(OutputChannel::isReady);
    assertThat(router.isReady()).isFalse();

    router.apply(update(4,
        route("", "sink", Partitioning.PARTITIONING_HASH, 2,
            rx[0].target(0, keyGroups(0, 65)), rx[1].target(1, keyGroups(65, MAX_P))).build()));
    awaitUntil(() -> "the router to be ready with every key group owned", router::isReady);
    endAllAndAwaitAcks();
    // After the acks every stream ever opened has been seen: the route changes reused both.
    assertThat(rx[0].streamsOpened()).isEqualTo(1);
    assertThat(rx[1].streamsOpened()).isEqualTo(1);
  }

  @Test
  void routeChangesOpenNewChannelsKeepUnchangedOnesEndRemovedOnesAndLoseNothing()
      throws IOException {
    RecordingReceiver a = receiver("sink-0");
    RecordingReceiver b = receiver("sink-1");
    newRouter(0, SMALL_BATCHES);
    RouteUpdate onlyA = update(1,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 1, a.target(0)).build());
    RouteUpdate aAndB = update(2,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 2, a.target(0), b.target(1)).build());
    RouteUpdate onlyB = update(3,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 1, b.target(1)).build());

    router.apply(onlyA);
    sendRange(0, 40);
    awaitUntil(() -> "sink-0 to receive 40 events", () -> a.eventCount() == 40);
    assertThat(router.channels()).hasSize(1);
    OutputChannel toA = router.channels().get(0);

    // B joins: it starts receiving, and A keeps its channel (and its stream).
    router.apply(aAndB);
    // 42 = ten whole batches and two events left in a batch for A when A is removed below.
    sendRange(40, 82);
    awaitUntil(() -> "sink-1 to receive events", () -> b.eventCount() > 0);
    assertThat(router.channels()).hasSize(2).contains(toA);
    assertThat(a.streamsOpened()).isEqualTo(1);

    // A leaves: its channel is flushed and ended, and gets its ack.
    router.apply(onlyB);
    awaitUntil(() -> "sink-0 to see its end frame", a::allStreamsEnded);
    assertThat(router.channels()).hasSize(1).doesNotContain(toA);
    awaitUntil(() -> "sink-0 to ack its end", toA::endAcknowledged);
    int atA = a.eventCount();
    sendRange(82, 122);

    // An older version changes nothing: A stays removed.
    router.apply(aAndB);
    assertThat(router.channels()).hasSize(1).doesNotContain(toA);
    sendRange(122, 130);
    endAllAndAwaitAcks();

    assertThat(a.streamsOpened()).isEqualTo(1);
    assertThat(b.streamsOpened()).isEqualTo(1);
    assertThat(a.eventCount()).as("events at sink-0 after it was removed").isEqualTo(atA);
    assertThat(a.streams().get(0).eventsBeforeEnd()).isEqualTo(atA);
    assertThat(seqs(a)).containsAll(range(0, 40)).allMatch(s -> s < 82);
    assertThat(seqs(b)).containsAll(range(82, 130)).allMatch(s -> s >= 40);
    List<Integer> all = new ArrayList<>(seqs(a));
    all.addAll(seqs(b));
    assertThat(all).containsExactlyInAnyOrderElementsOf(range(0, 130));
    assertNoProtocolErrors(a);
    assertNoProtocolErrors(b);
  }

  @Test
  void aFailedChannelRemovedByARouteUpdateLeavesNoRetryDeadlineBehind()
      throws IOException, InterruptedException {
    RecordingReceiver a = receiver("sink-0");
    RecordingReceiver b = receiver("sink-1");
    newRouter(0, SMALL_BATCHES);
    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 1, a.target(0)).build()));
    awaitUntil(() -> "the channel to sink-0 to be ready", this::allChannelsReady);
    OutputChannel toA = router.channels().get(0);

    a.stop();
    awaitUntil(() -> "the channel to sink-0 to fail", () -> toA.failure() != null);
    long now = mailbox.nanoTime();
    router.flushDue(now);
    // Nothing was emitted, so every batch is empty: the only deadline is the retry of sink-0.
    assertThat(router.channels()).as("channels before the update").containsExactly(toA);
    assertThat(router.nextDeadlineNanos()).as("retry deadline for sink-0")
        .isNotEqualTo(Long.MAX_VALUE);

    router.apply(update(2,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 1, b.target(0)).build()));
    assertThat(router.channels()).singleElement().isNotSameAs(toA);
    // Long after the retry would have been due: a deadline left behind would now be in the past,
    // and a subtask loop parking until it would spin.
    router.flushDue(now + TimeUnit.SECONDS.toNanos(60));
    assertThat(router.nextDeadlineNanos()).as("next deadline with no retry pending")
        .isEqualTo(Long.MAX_VALUE);

    endAllAndAwaitAcks();
    assertThat(b.streamsOpened()).isEqualTo(1);
    assertNoProtocolErrors(b);
  }

  @Test
  void aRouteUpdateAfterEndAllEndsTheChannelsItOpens() throws IOException {
    RecordingReceiver a = receiver("sink-0");
    RecordingReceiver b = receiver("sink-1");
    b.holdEndAcks();
    newRouter(0, SMALL_BATCHES);
    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 1, a.target(0)).build()));
    router.endAll("drain");
    awaitUntil(() -> "sink-0 to ack its end", router::allEndsDone);

    router.apply(update(2,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 2, a.target(0), b.target(1))
            .build()));
    assertThat(router.channels()).hasSize(2);
    awaitUntil(() -> "sink-1 to see an end frame on the channel opened after endAll",
        b::allStreamsEnded);
    assertThat(router.allEndsDone()).as("ends done before sink-1 acked").isFalse();
    assertThat(router.unacknowledgedEnds()).singleElement().asString().contains("sink-1");

    b.releaseEndAcks();
    awaitUntil(() -> "every end to be acknowledged; missing " + router.unacknowledgedEnds(),
        router::allEndsDone);
    assertThat(router.unacknowledgedEnds()).isEmpty();
    assertThat(b.streams()).singleElement().satisfies(s -> {
      // The receiver flags any frame before OPEN, and any frame after END, as a protocol error.
      assertThat(s.open()).isNotNull();
      assertThat(s.open().getToInstance()).isEqualTo("sink-1");
      assertThat(s.ended()).isTrue();
      assertThat(s.eventsBeforeEnd()).isZero();
      assertThat(s.protocolErrors()).isEmpty();
    });
    // The update kept sink-0's ended channel rather than opening a second stream to it.
    assertThat(a.streamsOpened()).isEqualTo(1);
    assertNoProtocolErrors(a);
  }

  @Test
  void endAllEndsEveryChannelAfterItsEventsAndIsDoneOnlyOnceAllAcked() throws IOException {
    RecordingReceiver[] rx = receivers("sink-0", "sink-1", "sink-2");
    OutputRoute.Builder route = route("", "sink", Partitioning.PARTITIONING_HASH, 3);
    for (int i = 0; i < 3; i++) {
      rx[i].holdEndAcks();
      route.addTargets(rx[i].target(i, KeyGroups.rangeFor(i, 3, MAX_P)));
    }
    newRouter(0, SMALL_BATCHES);
    router.apply(update(1, route.build()));
    // Not a multiple of the batch size per target, most likely: the end must flush the rest.
    int events = 51;
    for (int seq = 0; seq < events; seq++) {
      send("", event(seq, ByteString.copyFromUtf8("user-" + seq)));
    }

    router.endAll("drain");
    awaitUntil(() -> "every receiver to see its end frame",
        () -> rx[0].allStreamsEnded() && rx[1].allStreamsEnded() && rx[2].allStreamsEnded());
    assertThat(router.allEndsDone()).as("ends done before any ack").isFalse();
    assertThat(router.unacknowledgedEnds()).hasSize(3);

    for (RecordingReceiver r : rx) {
      r.releaseEndAcks();
    }
    awaitUntil(() -> "every end to be acknowledged", router::allEndsDone);
    assertThat(router.unacknowledgedEnds()).isEmpty();

    List<Integer> all = new ArrayList<>();
    for (RecordingReceiver r : rx) {
      assertThat(r.streams()).singleElement().satisfies(s -> {
        // The end came after every event of the stream (a batch after it is a protocol error).
        assertThat(s.eventsBeforeEnd()).isEqualTo(s.events().size());
        assertThat(s.protocolErrors()).isEmpty();
      });
      all.addAll(seqs(r));
    }
    assertThat(all).containsExactlyInAnyOrderElementsOf(range(0, events));
  }

  @Test
  void sideOutputGoesOnlyToItsOwnRoutesAndAnUnroutedOutputIsDropped() throws IOException {
    RecordingReceiver main = receiver("sink-0");
    RecordingReceiver dlq = receiver("dlq-0");
    newRouter(0, SMALL_BATCHES);
    router.apply(update(1,
        route("", "sink", Partitioning.PARTITIONING_ROUND_ROBIN, 1, main.target(0)).build(),
        route("dead-letter", "dlq", Partitioning.PARTITIONING_ROUND_ROBIN, 1, dlq.target(0))
            .build()));
    assertThat(router.hasConsumer("")).isTrue();
    assertThat(router.hasConsumer("dead-letter")).isTrue();
    assertThat(router.hasConsumer("late")).isFalse();

    List<String> mainIds = new ArrayList<>();
    List<String> deadIds = new ArrayList<>();
    for (int seq = 0; seq < 10; seq++) {
      Event m = event(seq, ByteString.copyFromUtf8("k")).toBuilder().setId("main-" + seq).build();
      Event d = event(seq, ByteString.copyFromUtf8("k")).toBuilder().setId("dead-" + seq).build();
      send("", m);
      send("dead-letter", d);
      mainIds.add(m.getId());
      deadIds.add(d.getId());
      Event late = event(seq, ByteString.copyFromUtf8("k")).toBuilder().setId("late-" + seq).build();
      assertThatCode(() -> router.emit("late", late)).doesNotThrowAnyException();
    }
    endAllAndAwaitAcks();

    assertThat(main.eventIds()).containsExactlyElementsOf(mainIds);
    assertThat(dlq.eventIds()).containsExactlyElementsOf(deadIds);
    assertThat(main.streams()).singleElement()
        .satisfies(s -> assertThat(s.open().getOutput()).isEmpty());
    assertThat(dlq.streams()).singleElement().satisfies(s -> {
      assertThat(s.open().getOutput()).isEqualTo("dead-letter");
      assertThat(s.open().getPipeline()).isEqualTo("p");
      assertThat(s.open().getFromStage()).isEqualTo("src");
      assertThat(s.open().getFromInstance()).isEqualTo("src-0");
    });
    assertNoProtocolErrors(main);
    assertNoProtocolErrors(dlq);
  }

  // --- helpers -------------------------------------------------------------------------------

  private void newRouter(int instanceIndex, ExchangeSettings settings) {
    pool = new ChannelPool(settings);
    router = new OutputRouter("p", "src", "src-" + instanceIndex, instanceIndex, settings, mailbox,
        metrics, pool);
  }

  private RecordingReceiver receiver(String instanceId) throws IOException {
    RecordingReceiver r = RecordingReceiver.start(instanceId, mailbox::wakeup);
    receivers.add(r);
    return r;
  }

  private RecordingReceiver[] receivers(String... instanceIds) throws IOException {
    RecordingReceiver[] out = new RecordingReceiver[instanceIds.length];
    for (int i = 0; i < instanceIds.length; i++) {
      out[i] = receiver(instanceIds[i]);
    }
    return out;
  }

  /** Emits like a subtask does: only while the router is ready. */
  private void send(String output, Event e) {
    awaitUntil(() -> "the router to be ready: " + router.notReadyReason(), router::isReady);
    router.emit(output, e);
  }

  private void sendRange(int fromSeq, int toSeq) {
    for (int seq = fromSeq; seq < toSeq; seq++) {
      send("", event(seq, ByteString.copyFromUtf8("k" + seq)));
    }
  }

  private void endAllAndAwaitAcks() {
    router.endAll("test done");
    awaitUntil(() -> "every end to be acknowledged; missing " + router.unacknowledgedEnds(),
        router::allEndsDone);
  }

  private boolean allChannelsReady() {
    List<OutputChannel> channels = router.channels();
    return !channels.isEmpty() && channels.stream().allMatch(OutputChannel::isReady);
  }

  /** Runs the subtask loop's housekeeping on this thread until {@code done} holds. */
  private void awaitUntil(Supplier<String> what, BooleanSupplier done) {
    long deadline = System.nanoTime() + TIMEOUT_NANOS;
    while (true) {
      mailbox.runPending();
      long now = mailbox.nanoTime();
      router.flushDue(now);
      if (done.getAsBoolean()) {
        return;
      }
      if (now - deadline > 0) {
        fail("timed out after %d s waiting for %s",
            TimeUnit.NANOSECONDS.toSeconds(TIMEOUT_NANOS), what.get());
      }
      long park = Math.min(MAX_PARK_NANOS, deadline - now);
      long linger = router.nextDeadlineNanos();
      if (linger != Long.MAX_VALUE) {
        park = Math.max(1, Math.min(park, linger - now));
      }
      // Receivers and gRPC callbacks wake the mailbox; the cap only bounds a missed wake-up.
      mailbox.await(park);
    }
  }

  private static OutputRoute.Builder route(
      String output, String toStage, Partitioning partitioning, int expectedParallelism,
      RouteTarget... targets) {
    return OutputRoute.newBuilder()
        .setOutput(output)
        .setToStage(toStage)
        .setPartitioning(partitioning)
        .setExpectedParallelism(expectedParallelism)
        .setMaxParallelism(MAX_P)
        .addAllTargets(List.of(targets));
  }

  private static RouteUpdate update(long version, OutputRoute... routes) {
    return RouteUpdate.newBuilder().setVersion(version).addAllOutputs(List.of(routes)).build();
  }

  private static KeyGroupRange keyGroups(int start, int end) {
    return KeyGroupRange.newBuilder().setStart(start).setEnd(end).build();
  }

  private static int ownerOf(KeyGroupRange[] ranges, int keyGroup) {
    for (int i = 0; i < ranges.length; i++) {
      if (KeyGroups.contains(ranges[i], keyGroup)) {
        return i;
      }
    }
    throw new AssertionError("no range in the route owns key group " + keyGroup);
  }

  private static Event event(int seq, ByteString key) {
    return Event.newBuilder()
        .setId("e-" + seq)
        .setKey(key)
        .setEventTime(1_000L + seq)
        .setPayload(ByteString.copyFromUtf8(Integer.toString(seq)))
        .build();
  }

  /** Text keys, repeated keys, non-ASCII keys, binary keys, long keys and the empty key. */
  private static ByteString variedKey(int seq) {
    return switch (seq % 5) {
      case 0 -> ByteString.copyFromUtf8("user-" + seq);
      case 1 -> ByteString.copyFrom(ByteBuffer.allocate(4).putInt(seq * 0x9E3779B1).array());
      case 2 -> ByteString.copyFromUtf8("clé-ключ-" + seq % 97);
      case 3 -> ByteString.copyFromUtf8("order/" + seq + "/" + "x".repeat(seq % 64));
      default -> seq % 50 == 4 ? ByteString.EMPTY : ByteString.copyFromUtf8(Integer.toHexString(seq));
    };
  }

  /** The sequence numbers (payloads) a receiver got, in arrival order. */
  private static List<Integer> seqs(RecordingReceiver r) {
    return r.events().stream().map(e -> Integer.parseInt(e.getPayload().toStringUtf8())).toList();
  }

  private static List<Integer> range(int from, int to) {
    return IntStream.range(from, to).boxed().toList();
  }

  private static void assertNoProtocolErrors(RecordingReceiver r) {
    Set<String> errors = new HashSet<>();
    r.streams().forEach(s -> errors.addAll(s.protocolErrors()));
    assertThat(errors).as("protocol errors at %s", r.instanceId()).isEmpty();
  }
}
