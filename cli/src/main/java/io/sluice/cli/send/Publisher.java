package io.sluice.cli.send;

import com.google.common.util.concurrent.RateLimiter;
import io.grpc.Channel;
import io.sluice.client.ProducerException;
import io.sluice.client.ProducerStats;
import io.sluice.client.SluiceProducer;
import io.sluice.proto.v1.Event;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Streams the events of a source to an ingest stage and waits until the ingest has acknowledged
 * all of them, through a {@link SluiceProducer}: every event is kept until acknowledged, and when
 * the stream breaks (the ingest restarts, or the pipeline restores a checkpoint) the producer
 * reconnects with backoff and resends from the first unacknowledged event; the ingest drops
 * repeats.
 *
 * <p>Flow control and memory: the producer writes only while the stream is ready, so a
 * backpressured pipeline stops the writes, and the reading of the source stops once {@link
 * Options#maxUnacked()} events are unacknowledged. So this process holds at most that many events
 * (the unacked buffer, on the heap; with checkpoints on, acknowledgements lag by about a checkpoint
 * interval, so this is also what bounds the rate), plus {@link Options#onReadyThresholdBytes()}
 * and one request in the transport; the ingest's HTTP/2 window bounds what is on the wire.
 *
 * <p>Threading: {@link #publish} runs on the calling thread, which reads the source, waits for the
 * rate limit and hands batches to the producer (blocking while its buffer is full); the producer's
 * own thread writes. One {@code publish} at a time per instance; {@link #progress()} may be called
 * from any thread.
 */
public final class Publisher {
  /**
   * How to publish. Immutable.
   *
   * @param producerId identifies this producer to the ingest; repeats of (producer, sequence) are
   *     dropped, so a producer that resends after a failure must keep its id
   * @param batchSize most events per {@code PublishRequest}
   * @param eventsPerSecond rate limit; 0 means unlimited
   * @param onReadyThresholdBytes bytes gRPC may queue on the stream before {@code isReady()} turns
   *     false: the bound on what the transport holds beyond the request being written
   * @param ackTimeout give up when no new ack arrives for this long while events are unacked,
   *     whether connected or reconnecting
   * @param maxUnacked most events held unacknowledged; reading the source waits beyond it
   */
  public record Options(
      String producerId,
      int batchSize,
      double eventsPerSecond,
      int onReadyThresholdBytes,
      Duration ackTimeout,
      int maxUnacked) {
    public static final int DEFAULT_BATCH_SIZE = SluiceProducer.DEFAULT_BATCH_SIZE;
    public static final int DEFAULT_ON_READY_THRESHOLD_BYTES =
        SluiceProducer.DEFAULT_ON_READY_THRESHOLD_BYTES;
    public static final Duration DEFAULT_ACK_TIMEOUT = SluiceProducer.DEFAULT_ACK_TIMEOUT;
    public static final int DEFAULT_MAX_UNACKED = SluiceProducer.DEFAULT_MAX_UNACKED;

    public Options {
      Objects.requireNonNull(producerId, "producerId");
      Objects.requireNonNull(ackTimeout, "ackTimeout");
      if (producerId.isEmpty()) {
        throw new IllegalArgumentException("producerId must not be empty");
      }
      if (batchSize < 1) {
        throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
      }
      if (eventsPerSecond < 0 || Double.isNaN(eventsPerSecond)) {
        throw new IllegalArgumentException("eventsPerSecond must be >= 0, got " + eventsPerSecond);
      }
      if (onReadyThresholdBytes < 1) {
        throw new IllegalArgumentException("onReadyThresholdBytes must be positive");
      }
      if (ackTimeout.isNegative() || ackTimeout.isZero()) {
        throw new IllegalArgumentException("ackTimeout must be positive, got " + ackTimeout);
      }
      if (maxUnacked < batchSize) {
        throw new IllegalArgumentException(
            "maxUnacked (" + maxUnacked + ") must be at least the batch size (" + batchSize + ")");
      }
    }

    /**
     * Batches of 256, no rate limit, a 256 KiB onReady threshold, a two-minute ack timeout and
     * 100,000 unacknowledged events at most.
     */
    public static Options defaults(String producerId) {
      return new Options(
          producerId,
          DEFAULT_BATCH_SIZE,
          0,
          DEFAULT_ON_READY_THRESHOLD_BYTES,
          DEFAULT_ACK_TIMEOUT,
          DEFAULT_MAX_UNACKED);
    }

    public Options withBatchSize(int size) {
      return new Options(
          producerId, size, eventsPerSecond, onReadyThresholdBytes, ackTimeout, maxUnacked);
    }

    public Options withRate(double perSecond) {
      return new Options(
          producerId, batchSize, perSecond, onReadyThresholdBytes, ackTimeout, maxUnacked);
    }

    public Options withOnReadyThreshold(int bytes) {
      return new Options(producerId, batchSize, eventsPerSecond, bytes, ackTimeout, maxUnacked);
    }

    public Options withAckTimeout(Duration timeout) {
      return new Options(
          producerId, batchSize, eventsPerSecond, onReadyThresholdBytes, timeout, maxUnacked);
    }

    public Options withMaxUnacked(int events) {
      return new Options(
          producerId, batchSize, eventsPerSecond, onReadyThresholdBytes, ackTimeout, events);
    }
  }

  /**
   * A snapshot of a running (or the last) publish. Immutable.
   *
   * @param sent distinct events written to the stream
   * @param ackedThrough the highest acknowledged sequence
   * @param duplicatesDropped repeats the ingest dropped, over every stream
   * @param requestsWritten {@code PublishRequest} messages written, resends included
   * @param waitingForReady whether the writer is blocked because the stream is not ready
   * @param elapsedSeconds since the publish started
   * @param reconnects streams opened after the first
   * @param resent events written again after a reconnect
   * @param reconnecting whether the producer is between streams after a failure
   * @param lastFailure what ended the last failed stream ({@code "UNAVAILABLE: …"}), or empty
   */
  public record Progress(
      long sent,
      long ackedThrough,
      long duplicatesDropped,
      long requestsWritten,
      boolean waitingForReady,
      double elapsedSeconds,
      long reconnects,
      long resent,
      boolean reconnecting,
      String lastFailure) {
    static final Progress NONE = new Progress(0, 0, 0, 0, false, 0, 0, 0, false, "");

    /** Events written per second since the start. */
    public double sentPerSecond() {
      return elapsedSeconds > 0 ? sent / elapsedSeconds : 0;
    }
  }

  private final Channel channel;
  private final Options options;
  private volatile Running current;

  /** The producer of the publish in progress, and when it started. */
  private record Running(SluiceProducer producer, long startNanos) {}

  /** A publisher that calls the ingest over {@code channel}; the caller owns the channel. */
  public Publisher(Channel channel, Options options) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.options = Objects.requireNonNull(options, "options");
  }

  public Options options() {
    return options;
  }

  /** How far the current (or last) publish has got. Any thread. */
  public Progress progress() {
    Running r = current;
    if (r == null) {
      return Progress.NONE;
    }
    return progress(r.producer().stats(), (System.nanoTime() - r.startNanos()) / 1e9);
  }

  private static Progress progress(ProducerStats s, double seconds) {
    return new Progress(
        s.sent(),
        s.ackedThroughSequence(),
        s.duplicatesDroppedByServer(),
        s.requestsWritten(),
        s.waitingForReady(),
        seconds,
        s.reconnects(),
        s.resent(),
        s.reconnecting(),
        s.lastFailure());
  }

  /** Publishes every event of {@code source}, numbered from sequence 1. See the overload. */
  public PublishSummary publish(EventSource source)
      throws BadInputException, PublishException, IOException, InterruptedException {
    return publish(source, 1);
  }

  /**
   * Publishes every event of {@code source}, numbered from {@code firstSequence}, and returns once
   * the ingest has acknowledged all of them and closed the stream.
   *
   * @param firstSequence the sequence of the first event; a producer that resumes after a failure
   *     passes the one after its last ack (or resends from earlier: repeats are dropped)
   * @throws BadInputException when the source has a bad input; events read before it were sent and
   *     acknowledged first ({@link BadInputException#sentBefore()})
   * @throws PublishException when the ingest fails the stream with an error that resending cannot
   *     fix, or stops acknowledging (connected or not) for {@link Options#ackTimeout()}
   * @throws IOException when the source cannot be read; the stream is cancelled
   * @throws InterruptedException when the calling thread is interrupted; the stream is cancelled
   */
  public PublishSummary publish(EventSource source, long firstSequence)
      throws BadInputException, PublishException, IOException, InterruptedException {
    if (firstSequence < 1) {
      throw new IllegalArgumentException("sequences start at 1, got " + firstSequence);
    }
    double rate = options.eventsPerSecond();
    // With a rate limit, send about 50 small batches a second rather than one 256-event burst.
    int batchSize =
        rate > 0
            ? (int) Math.max(1, Math.min(options.batchSize(), Math.ceil(rate / 50)))
            : options.batchSize();
    long startNanos = System.nanoTime();
    SluiceProducer producer =
        SluiceProducer.builder(channel, options.producerId())
            .firstSequence(firstSequence)
            .batchSize(batchSize)
            // The source is read in whole batches, handed over at once (sendAll): a batch never
            // waits for more, so the requests are exactly the batches read.
            .linger(Duration.ZERO)
            .maxUnacked(options.maxUnacked())
            .onReadyThreshold(options.onReadyThresholdBytes())
            .ackTimeout(options.ackTimeout())
            .build();
    current = new Running(producer, startNanos);
    boolean done = false;
    try {
      BadInputException bad = sendAll(source, producer, batchSize, rate);
      producer.awaitAcked(Duration.ofNanos(Long.MAX_VALUE)); // bounded by the ack timeout
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      producer.close(); // ends the stream; everything is acknowledged already
      done = true;
      PublishSummary summary = summary(producer.stats(), seconds);
      if (bad != null) {
        throw bad.withSentBefore(summary);
      }
      return summary;
    } catch (ProducerException e) {
      throw new PublishException(
          "publishing failed: " + e.status().getCode(),
          e.status(),
          summary(e.stats(), (System.nanoTime() - startNanos) / 1e9));
    } finally {
      if (!done) {
        // A failed producer, an exception out of the source, or an interrupt: make sure the call
        // does not linger (abort after the end is a no-op).
        producer.abort();
      }
    }
  }

  private static PublishSummary summary(ProducerStats s, double seconds) {
    double elapsed = Math.max(1e-9, seconds);
    return new PublishSummary(
        s.sent(),
        elapsed,
        s.sent() / elapsed,
        s.ackedThroughSequence(),
        s.duplicatesDroppedByServer(),
        s.reconnects(),
        s.resent());
  }

  /**
   * Reads the source in batches and hands each to the producer at once; returns the bad input
   * that stopped it, if any. Blocks while the producer's buffer is full.
   */
  private static BadInputException sendAll(
      EventSource source, SluiceProducer producer, int batchSize, double rate)
      throws IOException, InterruptedException {
    RateLimiter limiter = rate > 0 ? RateLimiter.create(rate) : null;
    List<Event> batch = new ArrayList<>(batchSize);
    while (true) {
      batch.clear();
      BadInputException bad = null;
      boolean ended = false;
      long bytes = 0;
      try {
        // The producer cuts requests by the same two limits, so each batch is one request.
        while (batch.size() < batchSize && bytes < SluiceProducer.DEFAULT_MAX_REQUEST_BYTES) {
          Event e = source.next();
          if (e == null) {
            ended = true;
            break;
          }
          batch.add(e);
          bytes += e.getSerializedSize();
        }
      } catch (BadInputException e) {
        bad = e;
      }
      if (!batch.isEmpty()) {
        if (limiter != null) {
          limiter.acquire(batch.size()); // the reading thread may wait; gRPC threads never do
        }
        producer.sendAll(batch);
      }
      if (bad != null || ended) {
        return bad;
      }
    }
  }
}
