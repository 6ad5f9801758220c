package io.sluice.cli.send;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.PublishRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PublisherTest {
  private RecordingIngest ingest;
  private ManagedChannel channel;
  private final ExecutorService sender = Executors.newSingleThreadExecutor();

  @BeforeEach
  void setUp() throws Exception {
    ingest = new RecordingIngest();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", ingest.port()).usePlaintext().build();
  }

  @AfterEach
  void tearDown() throws Exception {
    sender.shutdownNow();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    ingest.close();
  }

  @Test
  void everyEventArrivesOnceInOrderAndTheFinalAckIsAwaited() throws Exception {
    EventGenerator gen = new EventGenerator("p1", 7, 50, 120);
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p1"));

    PublishSummary summary = publisher.publish(gen.source(10_000));

    assertThat(summary.events()).isEqualTo(10_000);
    assertThat(summary.ackedThrough()).isEqualTo(10_000);
    assertThat(summary.duplicatesDropped()).isZero();
    List<Event> got = ingest.events();
    assertThat(got).hasSize(10_000);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i)).isEqualTo(gen.event(i + 1));
    }
    // Batches of 256, numbered consecutively from 1.
    assertThat(ingest.firstSequences())
        .containsExactlyElementsOf(LongStream.iterate(1, s -> s + 256).limit(40).boxed().toList());
    assertThat(ingest.clientHalfClosed()).isTrue();
  }

  @Test
  void writesOnlyWhileReadySoBufferedBytesStayBoundedWhenTheIngestStopsReading() throws Exception {
    ingest.pause(); // the ingest asks for one request, then for nothing until released
    EventGenerator gen = new EventGenerator("p2", 3, 1000, 200);
    long total = 100_000; // about 23 MB: far more than any buffer on the way
    Publisher.Options options = Publisher.Options.defaults("p2");
    Publisher publisher = new Publisher(channel, options);
    long requestBytes =
        PublishRequest.newBuilder()
            .setProducerId("p2")
            .setFirstSequence(1)
            .addAllEvents(events(gen, 1, 256))
            .build()
            .getSerializedSize();
    // What may be in flight, unread by the ingest: its HTTP/2 window, the bytes gRPC queues on
    // the client before isReady() turns false, and the request the sender holds.
    long bound = RecordingIngest.WINDOW_BYTES + options.onReadyThresholdBytes() + 2 * requestBytes;

    Future<PublishSummary> result = sender.submit(() -> publisher.publish(gen.source(total)));

    for (int round = 1; round <= 5; round++) {
      long taken = round;
      // Wait for the steady state of backpressure (the sender blocked on readiness while the
      // ingest holds back), or for the sender to have written past the bound, which would fail.
      awaitCondition(
          () -> {
            Publisher.Progress p = publisher.progress();
            return ingest.received() == taken
                && ((p.waitingForReady() && p.requestsWritten() > taken)
                    || (p.requestsWritten() - taken) * requestBytes > bound);
          });
      long written = publisher.progress().requestsWritten();
      long received = ingest.received();
      assertThat(ingest.requested()).isEqualTo(received);
      assertThat((written - received) * requestBytes)
          .as("bytes written but not taken, with the ingest reading nothing")
          .isLessThanOrEqualTo(bound);
      assertThat(publisher.progress().waitingForReady()).isTrue();
      assertThat(result).isNotDone();
      ingest.release(1);
    }

    ingest.resume();
    PublishSummary summary = result.get(2, TimeUnit.MINUTES);
    assertThat(summary.ackedThrough()).isEqualTo(total);
    List<Event> got = ingest.events();
    assertThat(got).hasSize((int) total);
    assertThat(got.get(0)).isEqualTo(gen.event(1));
    assertThat(got.get((int) total - 1)).isEqualTo(gen.event(total));
    assertThat(got.stream().map(Event::getId).distinct().count()).isEqualTo(total);
  }

  @Test
  void anErrorFromTheIngestEndsPublishingWithItsStatusAndWhatWasAcked() throws Exception {
    ingest.failWhen(
        (n, request) ->
            n == 3
                ? Status.INVALID_ARGUMENT.withDescription(
                    "malformed event at sequence " + (request.getFirstSequence() + 5))
                : null);
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p3"));

    PublishException e =
        catchThrowableOfType(
            PublishException.class,
            () -> publisher.publish(new EventGenerator("p3", 1, 10, 100).source(5_000)));

    assertThat(e.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.status().getDescription()).isEqualTo("malformed event at sequence 518");
    assertThat(e.progress().ackedThrough()).isEqualTo(512); // two requests of 256, acked first
    assertThat(ingest.events()).hasSize(512);
  }

  @Test
  void anIngestThatClosesBeforeAckingEverythingIsReconnectedAndTheRestResent() throws Exception {
    // Used to be a failure (ABORTED); now the producer reopens the stream and resends.
    ingest.completeWithoutAckOnce();
    EventGenerator gen = new EventGenerator("p4", 1, 10, 100);
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p4"));

    PublishSummary summary = publisher.publish(gen.source(1_000));

    assertThat(summary.ackedThrough()).isEqualTo(1_000);
    assertThat(summary.events()).isEqualTo(1_000);
    assertThat(summary.reconnects()).isEqualTo(1);
    assertThat(summary.resent()).isPositive();
    assertThat(ingest.streams()).isEqualTo(2);
    List<Event> got = ingest.events();
    assertThat(got).hasSize(1_000);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i)).isEqualTo(gen.event(i + 1));
    }
  }

  @Test
  void anIngestThatKeepsFailingEndsPublishingAfterTheAckTimeoutWithItsStatus() throws Exception {
    // The first request is taken and acked; every later one, on any stream, fails retryably.
    ingest.failWhen(
        (n, request) -> n > 1 ? Status.UNAVAILABLE.withDescription("ingest in-0 is draining") : null);
    Publisher publisher =
        new Publisher(
            channel, Publisher.Options.defaults("p9").withAckTimeout(Duration.ofMillis(1_500)));

    PublishException e =
        catchThrowableOfType(
            PublishException.class,
            () -> publisher.publish(new EventGenerator("p9", 1, 10, 100).source(1_000)));

    assertThat(e.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.status().getDescription())
        .startsWith("ingest in-0 is draining")
        .contains("gave up after")
        .contains("acked through 256 of 1000");
    assertThat(e.progress().ackedThrough()).isEqualTo(256);
    assertThat(e.progress().reconnects()).isPositive();
    assertThat(ingest.streams()).isEqualTo(e.progress().reconnects() + 1);
  }

  @Test
  void aBrokenStreamIsReopenedAndEveryEventArrivesOnceInOrder() throws Exception {
    // UNAVAILABLE, as an ingest answers when the pipeline restores a checkpoint: retry.
    ingest.failWhen(
        (n, request) ->
            n == 3 ? Status.UNAVAILABLE.withDescription("ingest in-0 is restoring") : null);
    EventGenerator gen = new EventGenerator("p10", 3, 10, 100);
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p10"));

    PublishSummary summary = publisher.publish(gen.source(5_000));

    assertThat(summary.ackedThrough()).isEqualTo(5_000);
    assertThat(summary.reconnects()).isEqualTo(1);
    assertThat(summary.resent()).isPositive();
    assertThat(summary.toString()).contains("1 reconnects").contains("events resent");
    List<Event> got = ingest.events();
    assertThat(got).hasSize(5_000);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i)).isEqualTo(gen.event(i + 1));
    }
    assertThat(publisher.progress().reconnects()).isEqualTo(1);
  }

  @Test
  void acksThatStopComingEndPublishingAfterTheAckTimeout() throws Exception {
    ingest.silent();
    Publisher publisher =
        new Publisher(
            channel, Publisher.Options.defaults("p8").withAckTimeout(Duration.ofMillis(300)));

    PublishException e =
        catchThrowableOfType(
            PublishException.class,
            () -> publisher.publish(new EventGenerator("p8", 1, 10, 100).source(10)));

    assertThat(e.status().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(e.status().getDescription())
        .startsWith("no acknowledgement for 0.3 s")
        .contains("acked through 0 of 10");
    assertThat(ingest.events()).hasSize(10);
  }

  @Test
  void aBadInputStopsReadingAfterTheEventsBeforeItAreSentAndAcked() throws Exception {
    EventGenerator gen = new EventGenerator("p5", 1, 10, 100);
    EventSource source =
        new EventSource() {
          private long n;

          @Override
          public Event next() throws BadInputException {
            n++;
            if (n == 301) {
              throw new BadInputException("in.jsonl:301: not valid JSON", 301, null);
            }
            if (n > 301) {
              throw new AssertionError("read past the bad input");
            }
            return gen.event(n);
          }
        };
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p5"));

    BadInputException e =
        catchThrowableOfType(BadInputException.class, () -> publisher.publish(source));

    assertThat(e.lineNumber()).isEqualTo(301);
    assertThat(e.getMessage()).isEqualTo("in.jsonl:301: not valid JSON");
    assertThat(e.sentBefore()).isPresent();
    assertThat(e.sentBefore().get().ackedThrough()).isEqualTo(300);
    assertThat(e.sentBefore().get().events()).isEqualTo(300);
    assertThat(ingest.events()).hasSize(300);
    assertThat(ingest.clientHalfClosed()).isTrue();
  }

  @Test
  void aRateLimitSendsSmallBatchesSoTheRateIsSmooth() throws Exception {
    EventGenerator gen = new EventGenerator("p6", 1, 10, 100);
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p6").withRate(2_000));

    PublishSummary summary = publisher.publish(gen.source(400));

    assertThat(summary.ackedThrough()).isEqualTo(400);
    // 2000 events/s in about 50 batches a second: 40 events each.
    assertThat(ingest.firstSequences())
        .containsExactlyElementsOf(LongStream.iterate(1, s -> s + 40).limit(10).boxed().toList());
  }

  @Test
  void resumingFromALaterSequenceNumbersEventsFromThere() throws Exception {
    EventGenerator gen = new EventGenerator("p7", 1, 10, 100);
    Publisher publisher = new Publisher(channel, Publisher.Options.defaults("p7"));
    publisher.publish(gen.source(100));

    // Same producer, a new stream: the repeats of 1..100 are dropped by the ingest.
    PublishSummary again = publisher.publish(gen.source(150), 1);

    assertThat(again.ackedThrough()).isEqualTo(150);
    assertThat(again.duplicatesDropped()).isEqualTo(100);
    assertThat(ingest.events()).hasSize(150);
  }

  @Test
  void readingWaitsWhileMaxUnackedEventsAreUnacknowledged() throws Exception {
    ingest.silent(); // takes every request, acks none
    EventGenerator gen = new EventGenerator("p11", 1, 10, 100);
    Publisher publisher =
        new Publisher(
            channel,
            Publisher.Options.defaults("p11")
                .withBatchSize(100)
                .withMaxUnacked(1_000)
                .withAckTimeout(Duration.ofSeconds(30)));
    AtomicLong read = new AtomicLong();
    EventSource source =
        new EventSource() {
          @Override
          public Event next() {
            long i = read.incrementAndGet();
            return i <= 100_000 ? gen.event(i) : null;
          }
        };

    Future<PublishSummary> result = sender.submit(() -> publisher.publish(source));

    awaitCondition(() -> ingest.events().size() == 1_000);
    // Ten batches of 100 are in the buffer, unacked; the eleventh waits for room.
    assertThat(read.get()).isBetween(1_000L, 1_100L);
    assertThat(result).isNotDone();
    result.cancel(true); // interrupts the reader: the publisher aborts
    assertThat(read.get()).isLessThanOrEqualTo(1_100L);
  }

  @Test
  void optionsRejectNonsense() {
    assertThatThrownBy(() -> Publisher.Options.defaults("p").withMaxUnacked(10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("batch size");
    assertThatThrownBy(() -> Publisher.Options.defaults("p").withBatchSize(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Publisher.Options.defaults("p").withRate(-1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Publisher.Options.defaults(""))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static List<Event> events(EventGenerator gen, long from, int count) {
    List<Event> list = new ArrayList<>();
    for (long i = from; i < from + count; i++) {
      list.add(gen.event(i));
    }
    return list;
  }

  /** Polls a condition that the test expects to become true; fails after a generous limit. */
  static void awaitCondition(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached within 30 s");
      }
      Thread.sleep(5);
    }
  }
}
