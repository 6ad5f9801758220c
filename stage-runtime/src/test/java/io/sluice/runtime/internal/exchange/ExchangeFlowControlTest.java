package io.sluice.runtime.internal.exchange;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.internal.task.OperatorRunner;
import io.sluice.runtime.internal.task.Subtask;
import io.sluice.runtime.internal.task.SubtaskState;
import io.sluice.runtime.internal.trace.StageTracing;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One Exchange hop over real Netty on loopback: a sender that offers as fast as it can against a
 * receiver held to a fixed rate. The sender must be held back by the HTTP/2 window (it cannot get
 * further ahead than the documented bound), and every event must arrive exactly once, in order.
 */
class ExchangeFlowControlTest {
  private static final int EVENTS = 40_000;
  private static final double RECEIVER_RATE = 40_000; // events/s: about a second of throttling
  private static final ExchangeSettings SETTINGS =
      new ExchangeSettings(64 * 1024, 16 * 1024, 4, 4 * 1024 * 1024, 128, 16 * 1024, Duration.ofMillis(5));

  private Server server;
  private ManagedChannel channel;
  private Thread receiverThread;

  @AfterEach
  void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (receiverThread != null) {
      receiverThread.join(5_000);
    }
  }

  @Test
  void senderIsHeldBackByTheWindowAndNothingIsLostOrDuplicated() throws Exception {
    AtomicLong received = new AtomicLong();
    AtomicLong outOfOrder = new AtomicLong();
    AtomicReference<SubtaskState> receiverEnd = new AtomicReference<>();
    CountDownLatch finished = new CountDownLatch(1);

    // Receiver: a subtask whose operator checks order; maxRate throttles it without sleeping.
    Mailbox rxMailbox = new Mailbox(System::nanoTime);
    TaskMetrics rxMetrics = new TaskMetrics();
    StageDefinition<String, String, String, String> def = StageDefinition.of(
        Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(),
        () -> new Operator<String, String, String, String>() {
          long expected = 0;

          @Override
          public void process(Record<String, String> r) {
            long seq = Long.parseLong(r.value().substring(0, r.value().indexOf(':')));
            if (seq != expected) {
              outOfOrder.incrementAndGet();
            }
            expected = seq + 1;
            received.incrementAndGet();
          }
        });
    OutputRouter rxRouter = new OutputRouter("p", "sink", "sink-0", 0, SETTINGS, rxMailbox, rxMetrics,
        new ChannelPool(SETTINGS));
    OperatorRunner<String, String, String, String> runner = new OperatorRunner<>(
        "sink", "sink-0", 0, def, rxRouter, rxMailbox, Clock.systemUTC(), rxMetrics,
        StageTracing.off());
    Subtask receiver = new Subtask("sink-0", rxMailbox, runner, rxRouter, rxMetrics,
        (state, reason) -> {
          if (state == SubtaskState.FINISHED || state == SubtaskState.STOPPED) {
            receiverEnd.set(state);
            finished.countDown();
          }
        },
        false, null, RECEIVER_RATE, null);
    receiver.applyRoutes(RouteUpdate.newBuilder().setVersion(1).addInputs("src-0").build());
    ExchangeService service = new ExchangeService("p", "sink-0", SETTINGS.credits(), rxMailbox, receiver::attach, 0);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .flowControlWindow(SETTINGS.flowControlWindow())
        .directExecutor()
        .addService(service)
        .build()
        .start();
    receiverThread = new Thread(receiver, "receiver");
    receiverThread.start();

    // Sender: this thread owns an OutputChannel, like a subtask would.
    Mailbox txMailbox = new Mailbox(System::nanoTime);
    txMailbox.bindToCurrentThread();
    TaskMetrics txMetrics = new TaskMetrics();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
        .usePlaintext().flowControlWindow(SETTINGS.flowControlWindow()).directExecutor().build();
    OutputChannel out = new OutputChannel(
        ChannelOpen.newBuilder().setPipeline("p").setFromInstance("src-0").setToInstance("sink-0").build(),
        SETTINGS, txMailbox, txMetrics);
    out.start(channel);

    byte[] pad = new byte[80];
    java.util.Arrays.fill(pad, (byte) 'x');
    int eventBytes = Event.newBuilder().setId("src-0-00000").setKey(ByteString.copyFromUtf8("k"))
        .setPayload(ByteString.copyFromUtf8("00000:" + new String(pad, StandardCharsets.US_ASCII)))
        .build().getSerializedSize() + 4;
    // The documented bound: window + queued frames + onReady threshold + the batch being built.
    long bound = SETTINGS.flowControlWindow()
        + (long) SETTINGS.credits() * SETTINGS.batchMaxBytes()
        + SETTINGS.onReadyThreshold()
        + 2L * SETTINGS.batchMaxBytes();
    long maxAhead = 0;
    long notReadyWaits = 0;
    int seq = 0;
    while (seq < EVENTS) {
      txMailbox.runPending();
      if (!out.isReady()) {
        assertThat(out.failure()).isNull();
        notReadyWaits++;
        txMailbox.await(10_000_000L);
        continue;
      }
      Event e = Event.newBuilder()
          .setId("src-0-" + seq)
          .setKey(ByteString.copyFromUtf8("k"))
          .setPayload(ByteString.copyFromUtf8(seq + ":" + new String(pad, StandardCharsets.US_ASCII)))
          .build();
      out.append(e);
      seq++;
      long ahead = (out.eventsSent() - received.get()) * eventBytes;
      maxAhead = Math.max(maxAhead, ahead);
      assertThat(out.failure()).isNull();
    }
    out.end("done");
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!out.endDone() && System.nanoTime() < giveUp) {
      txMailbox.await(10_000_000L);
    }

    assertThat(finished.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(receiverEnd.get()).isEqualTo(SubtaskState.FINISHED);
    assertThat(out.endAcknowledged()).isTrue();
    assertThat(received.get()).isEqualTo(EVENTS);
    assertThat(outOfOrder.get()).isZero();
    // Held back: the sender waited on the window many times, and was never further ahead than the bound.
    assertThat(notReadyWaits).isGreaterThan(10);
    assertThat(maxAhead).as("bytes the sender got ahead of the receiver (bound %d)", bound).isLessThanOrEqualTo(bound);
  }
}
