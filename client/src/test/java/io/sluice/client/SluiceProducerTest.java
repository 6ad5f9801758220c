package io.sluice.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.IngestServiceGrpc;
import io.sluice.proto.v1.PublishAck;
import io.sluice.proto.v1.PublishRequest;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The producer against real loopback Netty servers. */
class SluiceProducerTest {
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void tearDown() throws Exception {
    threads.shutdownNow();
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T t) {
    cleanup.add(t);
    return t;
  }

  static Event event(long i) {
    return Event.newBuilder()
        .setId("e-" + i)
        .setKey(ByteString.copyFromUtf8("k" + (i % 7)))
        .setEventTime(1_767_225_600_000L + i)
        .setPayload(ByteString.copyFrom("{\"i\":" + i + ",\"pad\":\"" + "x".repeat(60) + "\"}",
            StandardCharsets.UTF_8))
        .build();
  }

  private static List<Event> events(long from, long to) {
    List<Event> list = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      list.add(event(i));
    }
    return list;
  }

  private static List<String> ids(List<Event> events) {
    return events.stream().map(Event::getId).toList();
  }

  private static List<String> expectedIds(long n) {
    List<String> ids = new ArrayList<>();
    for (long i = 1; i <= n; i++) {
      ids.add("e-" + i);
    }
    return ids;
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {42, 7, 2026})
  void everyEventIsCommittedExactlyOnceInOrderThroughKillsRestoresAndARestart(long seed)
      throws Exception {
    long n = 30_000;
    // Acks lag: a checkpoint every 4 requests and every 20 ms. Per request: 1% a killed stream,
    // 0.5% a restore (uncommitted events forgotten, every stream ended), 0.5% an early end.
    TestIngest ingest =
        closeLater(new TestIngest(4, 20, new TestIngest.Chaos(seed, 0.01, 0.005, 0.005)));
    SluiceProducer p =
        SluiceProducer.builder(ingest.target(), "chaos")
            .batchSize(50)
            .maxUnacked(2_000)
            .linger(Duration.ofMillis(1))
            .backoff(Duration.ofMillis(5), Duration.ofMillis(200))
            .ackTimeout(Duration.ofSeconds(30))
            .build();
    closeLater(p::abort);

    boolean restarted = false;
    for (long i = 1; i <= n; i++) {
      assertThat(p.send(event(i))).isEqualTo(i);
      if (!restarted && i == n / 2) {
        ingest.restart(); // while events are in flight: the port refuses, then serves again
        restarted = true;
      }
    }

    assertThat(p.awaitAcked(Duration.ofSeconds(60))).as("acked: %s", p.stats()).isTrue();
    p.close();

    List<Event> committed = ingest.committed("chaos");
    assertThat(ids(committed)).containsExactlyElementsOf(expectedIds(n));
    ProducerStats stats = p.stats();
    System.out.println("chaos: " + stats + " faults " + ingest.faults() + " dups " + ingest.duplicates());
    assertThat(stats.acked()).isEqualTo(n);
    assertThat(stats.sent()).isEqualTo(n);
    assertThat(stats.unacked()).isZero();
    assertThat(ingest.faults()).as("the chaos did something").isGreaterThan(5);
    assertThat(stats.reconnects()).isPositive();
    assertThat(stats.resent()).isPositive();
    assertThat(stats.duplicatesDroppedByServer()).isBetween(0L, ingest.duplicates());
  }

  @Test
  void sendBlocksWhileTheUnackedBufferIsFullAndResumesOnAck() throws Exception {
    TestIngest ingest = closeLater(new TestIngest(1, 0, TestIngest.Chaos.NONE));
    ingest.acking(false);
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "full")
            .maxUnacked(10)
            .batchSize(5)
            .linger(Duration.ZERO)
            .build();
    closeLater(producer::abort);
    for (long i = 1; i <= 10; i++) {
      producer.send(event(i));
    }
    CountDownLatch sending = new CountDownLatch(1);
    CountDownLatch sent = new CountDownLatch(1);
    Future<Long> eleventh =
        threads.submit(
            () -> {
              sending.countDown();
              long seq = producer.send(event(11));
              sent.countDown();
              return seq;
            });
    assertThat(sending.await(10, TimeUnit.SECONDS)).isTrue();
    awaitCondition(() -> ingest.requests() >= 2); // both batches are on the server, unacked

    // Blocked: the buffer holds ten unacknowledged events and the ingest acks nothing.
    assertThat(sent.await(300, TimeUnit.MILLISECONDS)).isFalse();
    assertThat(producer.stats().unacked()).isEqualTo(10);
    assertThat(eleventh).isNotDone();

    ingest.acking(true); // a checkpoint: acks through 10 free the buffer
    assertThat(sent.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(eleventh.get()).isEqualTo(11);
    ingest.checkpoint();
    producer.close();
    assertThat(ids(ingest.committed("full"))).containsExactlyElementsOf(expectedIds(11));
  }

  @Test
  void aNonRetryableErrorFailsTheProducerWithItsStatus() throws Exception {
    TestIngest ingest = closeLater(new TestIngest(1, 0, TestIngest.Chaos.NONE));
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "denied").linger(Duration.ZERO).build();
    closeLater(producer::abort);
    producer.send(event(1));
    assertThat(producer.awaitAcked(Duration.ofSeconds(10))).isTrue();
    ingest.failWith(Status.PERMISSION_DENIED.withDescription("producer 'denied' may not publish"));

    producer.send(event(2));
    ProducerException e =
        catchThrowableOfType(
            ProducerException.class, () -> producer.awaitAcked(Duration.ofSeconds(10)));

    assertThat(e.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(e.getMessage()).contains("producer denied failed: PERMISSION_DENIED").contains("may not publish");
    assertThat(e.stats().ackedThroughSequence()).isEqualTo(1);
    assertThat(e.stats().reconnects()).isZero();
    assertThatThrownBy(() -> producer.send(event(3))).isInstanceOf(ProducerException.class);
    assertThatThrownBy(producer::close).isInstanceOf(ProducerException.class);
  }

  @Test
  void anInvalidArgumentThatIsNotAGapIsNotRetried() throws Exception {
    TestIngest ingest = closeLater(new TestIngest(1, 0, TestIngest.Chaos.NONE));
    ingest.failWith(Status.INVALID_ARGUMENT.withDescription("malformed event at sequence 1"));
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "bad").linger(Duration.ZERO).build();
    closeLater(producer::abort);
    producer.send(event(1));

    ProducerException e =
        catchThrowableOfType(
            ProducerException.class, () -> producer.awaitAcked(Duration.ofSeconds(10)));

    assertThat(e.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(ingest.streamsOpened()).isEqualTo(1);
  }

  @Test
  void aGapIsResentFromWhereTheIngestAsks() throws Exception {
    // The second stream's first request is refused as a gap: the producer must resend from where
    // the ingest says (5), not from its first unacknowledged event (3).
    GapIngest ingest = closeLater(new GapIngest());
    ingest.resendFrom = 5;
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "gap")
            .linger(Duration.ZERO)
            .batchSize(2)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
            .build();
    closeLater(producer::abort);
    producer.sendAll(events(1, 6)); // at once, so the batches are 1..2, 3..4, 5..6
    assertThat(producer.awaitAcked(Duration.ofSeconds(10))).isTrue();
    producer.close();
    // Stream 1 dies with 3..4 taken but unacked; stream 2 (from 3) hears "resend from 5";
    // stream 3 starts at 5, and the ack through 6 covers 3..4 too.
    assertThat(ingest.streamFirstSequences()).containsExactly(1L, 3L, 5L);
    assertThat(ids(ingest.events())).containsExactlyElementsOf(expectedIds(6));
    assertThat(producer.stats().reconnects()).isEqualTo(2);
    assertThat(producer.stats().lastFailure()).contains("INVALID_ARGUMENT").contains("resend from 5");
  }

  @Test
  void aGapBelowWhatWasAcknowledgedFailsTheProducer() throws Exception {
    GapIngest ingest = closeLater(new GapIngest());
    ingest.resendFrom = 1; // asks for events the producer already released
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "gone")
            .linger(Duration.ZERO)
            .batchSize(2)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
            .build();
    closeLater(producer::abort);
    producer.sendAll(events(1, 6)); // at once, so the batches are 1..2, 3..4, 5..6

    ProducerException e =
        catchThrowableOfType(
            ProducerException.class, () -> producer.awaitAcked(Duration.ofSeconds(10)));

    assertThat(e.status().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.status().getDescription())
        .contains("resend from sequence 1")
        .contains("were acknowledged before and released");
  }

  @Test
  void acksThatStopComingFailTheProducerAfterTheAckTimeout() throws Exception {
    TestIngest ingest = closeLater(new TestIngest(1, 0, TestIngest.Chaos.NONE));
    ingest.acking(false);
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "silent")
            .ackTimeout(Duration.ofMillis(300))
            .build();
    closeLater(producer::abort);
    producer.send(event(1));

    ProducerException e = catchThrowableOfType(ProducerException.class, producer::close);

    assertThat(e.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(e.status().getDescription())
        .startsWith("no acknowledgement for 0.3 s")
        .contains("acked through 0 of 1");
  }

  @Test
  void anUnreachableIngestIsRetriedThenReportedWithItsStatus() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free once closed: nothing listens there
    }
    SluiceProducer producer =
        SluiceProducer.builder("127.0.0.1:" + port, "nowhere")
            .ackTimeout(Duration.ofMillis(800))
            .backoff(Duration.ofMillis(10), Duration.ofMillis(100))
            .build();
    closeLater(producer::abort);
    producer.send(event(1));

    ProducerException e = catchThrowableOfType(ProducerException.class, producer::close);

    assertThat(e.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.status().getDescription()).contains("gave up after").contains("attempts");
    assertThat(e.stats().reconnects()).isPositive();
  }

  @Test
  void aStreamTheIngestCompletesEarlyIsReopenedAndTheRestResent() throws Exception {
    TestIngest ingest =
        closeLater(new TestIngest(1, 0, new TestIngest.Chaos(7, 0, 0, 0.2)));
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "early")
            .batchSize(10)
            .linger(Duration.ZERO)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
            .build();
    closeLater(producer::abort);
    for (long i = 1; i <= 1_000; i++) {
      producer.send(event(i));
    }
    producer.close();
    assertThat(ids(ingest.committed("early"))).containsExactlyElementsOf(expectedIds(1_000));
    assertThat(producer.stats().reconnects()).isPositive();
  }

  @Test
  void concurrentSendersGetDistinctSequencesAndEveryEventArrivesOnce() throws Exception {
    TestIngest ingest = closeLater(new TestIngest(3, 10, new TestIngest.Chaos(3, 0.01, 0, 0)));
    SluiceProducer producer =
        SluiceProducer.builder(ingest.target(), "many")
            .maxUnacked(500)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
            .build();
    closeLater(producer::abort);
    int senders = 4;
    int each = 2_000;
    List<Future<List<Long>>> results = new ArrayList<>();
    for (int t = 0; t < senders; t++) {
      int thread = t;
      results.add(
          threads.submit(
              () -> {
                List<Long> sequences = new ArrayList<>();
                for (int i = 0; i < each; i++) {
                  sequences.add(producer.send(event(thread * 1_000_000L + i)));
                }
                return sequences;
              }));
    }
    Set<Long> sequences = new HashSet<>();
    for (Future<List<Long>> f : results) {
      sequences.addAll(f.get(60, TimeUnit.SECONDS));
    }
    producer.close();

    assertThat(sequences).hasSize(senders * each);
    List<Event> committed = ingest.committed("many");
    assertThat(committed).hasSize(senders * each);
    assertThat(ids(committed)).doesNotHaveDuplicates();
  }

  @Test
  void writesOnlyWhileTheStreamIsReady() throws Exception {
    // An ingest that takes one request and then reads nothing: the producer must stop at the
    // stream's readiness, not push everything into the transport.
    StalledIngest ingest = closeLater(new StalledIngest());
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", ingest.port()).usePlaintext().build();
    closeLater(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    int threshold = 32 * 1024;
    SluiceProducer producer =
        SluiceProducer.builder(channel, "stalled")
            .onReadyThreshold(threshold)
            .batchSize(100)
            .linger(Duration.ZERO)
            .build();
    closeLater(producer::abort);
    for (long i = 1; i <= 20_000; i++) { // about 2 MB: far more than the window and threshold
      producer.send(event(i));
    }

    awaitCondition(() -> producer.stats().waitingForReady());
    long written = producer.stats().requestsWritten();
    List<Event> hundred = new ArrayList<>();
    for (long i = 19_901; i <= 20_000; i++) {
      hundred.add(event(i)); // the largest events
    }
    long requestBytes =
        PublishRequest.newBuilder()
            .setProducerId("stalled")
            .setFirstSequence(20_000)
            .addAllEvents(hundred)
            .build()
            .getSerializedSize();
    // The server's window, the client's threshold and a request in hand, with room for framing.
    long bound = StalledIngest.WINDOW_BYTES + threshold + 2 * requestBytes;
    assertThat(written * requestBytes).isLessThanOrEqualTo(bound);
    assertThat(producer.stats().sent()).isLessThan(20_000);
  }

  @Test
  void builderRejectsNonsense() {
    assertThatThrownBy(() -> SluiceProducer.builder("h:1", "")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SluiceProducer.builder(" ", "p")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SluiceProducer.builder("h:1", "p").maxUnacked(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SluiceProducer.builder("h:1", "p").batchSize(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SluiceProducer.builder("h:1", "p").linger(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SluiceProducer.builder("h:1", "p").ackTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SluiceProducer.builder("h:1", "p").firstSequence(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> SluiceProducer.builder("h:1", "p").backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void closeWithNothingSentEndsAtOnceAndLaterSendsAreRefused() throws Exception {
    SluiceProducer producer = SluiceProducer.builder("127.0.0.1:1", "idle").build();
    producer.close();
    assertThatThrownBy(() -> producer.send(event(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThat(producer.stats().sent()).isZero();
  }

  /** Polls a condition the test expects to become true; fails after a generous limit. */
  static void awaitCondition(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached within 30 s");
      }
      Thread.sleep(5);
    }
  }

  /**
   * Three streams, scripted: the first takes two requests (1..2, acked; 3..4, taken but not acked)
   * and dies with UNAVAILABLE; the second refuses its first request as a gap at {@link
   * #resendFrom} (the real ingest's wording); the third takes and acks everything. Takes events in
   * sequence and drops repeats.
   */
  static final class GapIngest implements AutoCloseable {
    volatile long resendFrom = 3;
    private final Object lock = new Object();
    private final List<Long> streamFirstSequences = new ArrayList<>();
    private final List<Event> events = new ArrayList<>();
    private final AtomicLong streams = new AtomicLong();
    private long last;
    private final Server server;

    GapIngest() throws Exception {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .directExecutor()
              .addService(
                  new IngestServiceGrpc.IngestServiceImplBase() {
                    @Override
                    public StreamObserver<PublishRequest> publish(
                        StreamObserver<PublishAck> responses) {
                      long stream = streams.incrementAndGet();
                      return new StreamObserver<>() {
                        long requests;
                        boolean closed;

                        @Override
                        public void onNext(PublishRequest r) {
                          synchronized (lock) {
                            if (closed) {
                              return;
                            }
                            requests++;
                            if (requests == 1) {
                              streamFirstSequences.add(r.getFirstSequence());
                            }
                            if (stream == 2) {
                              closed = true;
                              responses.onError(
                                  Status.INVALID_ARGUMENT
                                      .withDescription(
                                          "sequence gap for producer p: expected "
                                              + resendFrom
                                              + ", got "
                                              + r.getFirstSequence()
                                              + "; events through "
                                              + (resendFrom - 1)
                                              + " are safe, resend from "
                                              + resendFrom)
                                      .asRuntimeException());
                              return;
                            }
                            long seq = r.getFirstSequence();
                            for (Event e : r.getEventsList()) {
                              if (seq == last + 1) {
                                events.add(e);
                                last = seq;
                              }
                              seq++;
                            }
                            if (stream == 1 && requests == 2) {
                              closed = true;
                              responses.onError(
                                  Status.UNAVAILABLE
                                      .withDescription("going away")
                                      .asRuntimeException());
                              return;
                            }
                            responses.onNext(
                                PublishAck.newBuilder().setAckedThroughSequence(last).build());
                          }
                        }

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {
                          synchronized (lock) {
                            if (!closed) {
                              closed = true;
                              responses.onCompleted();
                            }
                          }
                        }
                      };
                    }
                  })
              .build()
              .start();
    }

    String target() {
      return "127.0.0.1:" + server.getPort();
    }

    List<Long> streamFirstSequences() {
      synchronized (lock) {
        return List.copyOf(streamFirstSequences);
      }
    }

    List<Event> events() {
      synchronized (lock) {
        return List.copyOf(events);
      }
    }

    @Override
    public void close() {
      server.shutdownNow();
    }
  }

  /** Asks for one request and then for nothing more, with a small window. */
  static final class StalledIngest implements AutoCloseable {
    static final int WINDOW_BYTES = 64 * 1024;
    private final Server server;

    StalledIngest() throws Exception {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .directExecutor()
              .flowControlWindow(WINDOW_BYTES)
              .addService(
                  new IngestServiceGrpc.IngestServiceImplBase() {
                    @Override
                    public StreamObserver<PublishRequest> publish(
                        StreamObserver<PublishAck> responses) {
                      ServerCallStreamObserver<PublishAck> call =
                          (ServerCallStreamObserver<PublishAck>) responses;
                      call.disableAutoRequest();
                      call.request(1);
                      return new StreamObserver<>() {
                        @Override
                        public void onNext(PublishRequest r) {}

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                      };
                    }
                  })
              .build()
              .start();
    }

    int port() {
      return server.getPort();
    }

    @Override
    public void close() {
      server.shutdownNow();
    }
  }
}
