package io.sluice.cli.send;

import com.google.common.util.concurrent.RateLimiter;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.IngestServiceGrpc;
import io.sluice.proto.v1.PublishAck;
import io.sluice.proto.v1.PublishRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Streams events to an ingest stage over {@code IngestService.Publish} and waits until the ingest
 * has acknowledged all of them.
 *
 * <p>Flow control: the request stream is written only while {@code isReady()}; when it is not, the
 * sender thread waits until gRPC's {@code onReadyHandler} says it is again. So a backpressured
 * pipeline stops the publisher instead of filling memory: at most {@link
 * Options#onReadyThresholdBytes()} plus one batch sit in this process's transport buffers, and the
 * ingest's HTTP/2 window bounds what is on the wire. Acks are requested one at a time (manual flow
 * control on the response direction too).
 *
 * <p>Threading: {@link #publish} runs on the calling thread, which becomes the sender thread: it
 * reads the source, waits for the rate limit and for readiness, and writes. gRPC callbacks only
 * record acks and wake it; they never block or sleep. One {@code publish} at a time per instance;
 * {@link #progress()} may be called from any thread.
 */
public final class Publisher {
  /** A request is flushed at this many serialized bytes even if it has fewer events. */
  private static final int MAX_REQUEST_BYTES = 1024 * 1024;

  /** How long to wait, after the last ack, for the ingest to close its side of the stream. */
  private static final Duration CLOSE_GRACE = Duration.ofSeconds(10);

  /**
   * How to publish. Immutable.
   *
   * @param producerId identifies this producer to the ingest; repeats of (producer, sequence) are
   *     dropped, so a producer that resends after a failure must keep its id
   * @param batchSize most events per {@code PublishRequest}
   * @param eventsPerSecond rate limit; 0 means unlimited
   * @param onReadyThresholdBytes bytes gRPC may queue on the stream before {@code isReady()} turns
   *     false: the bound on what this process buffers beyond the batch in hand
   * @param ackTimeout give up when no new ack arrives for this long while events are unacked
   */
  public record Options(
      String producerId,
      int batchSize,
      double eventsPerSecond,
      int onReadyThresholdBytes,
      Duration ackTimeout) {
    public static final int DEFAULT_BATCH_SIZE = 256;
    public static final int DEFAULT_ON_READY_THRESHOLD_BYTES = 256 * 1024;
    public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofMinutes(2);

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
    }

    /** Batches of 256, no rate limit, a 32 KiB onReady threshold and a two-minute ack timeout. */
    public static Options defaults(String producerId) {
      return new Options(
          producerId, DEFAULT_BATCH_SIZE, 0, DEFAULT_ON_READY_THRESHOLD_BYTES, DEFAULT_ACK_TIMEOUT);
    }

    public Options withBatchSize(int size) {
      return new Options(producerId, size, eventsPerSecond, onReadyThresholdBytes, ackTimeout);
    }

    public Options withRate(double perSecond) {
      return new Options(producerId, batchSize, perSecond, onReadyThresholdBytes, ackTimeout);
    }

    public Options withOnReadyThreshold(int bytes) {
      return new Options(producerId, batchSize, eventsPerSecond, bytes, ackTimeout);
    }

    public Options withAckTimeout(Duration timeout) {
      return new Options(producerId, batchSize, eventsPerSecond, onReadyThresholdBytes, timeout);
    }
  }

  /**
   * A snapshot of a running (or the last) publish. Immutable.
   *
   * @param sent events written to the stream
   * @param ackedThrough the highest acknowledged sequence
   * @param duplicatesDropped repeats the ingest dropped, as of the last ack
   * @param requestsWritten {@code PublishRequest} messages written
   * @param waitingForReady whether the sender is blocked because the stream is not ready
   * @param elapsedSeconds since the stream started
   */
  public record Progress(
      long sent,
      long ackedThrough,
      long duplicatesDropped,
      long requestsWritten,
      boolean waitingForReady,
      double elapsedSeconds) {
    static final Progress NONE = new Progress(0, 0, 0, 0, false, 0);

    /** Events written per second since the start. */
    public double sentPerSecond() {
      return elapsedSeconds > 0 ? sent / elapsedSeconds : 0;
    }
  }

  private final IngestServiceGrpc.IngestServiceStub stub;
  private final Options options;
  private volatile Call current;

  /** A publisher that calls the ingest over {@code channel}; the caller owns the channel. */
  public Publisher(Channel channel, Options options) {
    this.options = Objects.requireNonNull(options, "options");
    this.stub =
        IngestServiceGrpc.newStub(channel).withOnReadyThreshold(options.onReadyThresholdBytes());
  }

  public Options options() {
    return options;
  }

  /** How far the current (or last) publish has got. Any thread. */
  public Progress progress() {
    Call c = current;
    return c == null ? Progress.NONE : c.progress();
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
   * @throws PublishException when the ingest fails the stream, closes it before acknowledging
   *     everything, or stops acknowledging for {@link Options#ackTimeout()}
   * @throws IOException when the source cannot be read; the stream is cancelled
   * @throws InterruptedException when the calling thread is interrupted; the stream is cancelled
   */
  public PublishSummary publish(EventSource source, long firstSequence)
      throws BadInputException, PublishException, IOException, InterruptedException {
    if (firstSequence < 1) {
      throw new IllegalArgumentException("sequences start at 1, got " + firstSequence);
    }
    Call call = new Call(firstSequence - 1);
    current = call;
    stub.publish(call);
    boolean done = false;
    try {
      BadInputException bad = sendAll(source, call, firstSequence);
      PublishSummary summary = call.finish();
      done = true;
      if (bad != null) {
        throw bad.withSentBefore(summary);
      }
      return summary;
    } finally {
      if (!done) {
        // An exception out of the source, an interrupt, or a failed stream: make sure the call
        // does not linger (cancel after termination is a no-op).
        call.cancel("publisher stopped before the stream completed");
      }
    }
  }

  /** Writes batches while the stream is ready; returns the bad input that stopped it, if any. */
  private BadInputException sendAll(EventSource source, Call call, long firstSequence)
      throws IOException, InterruptedException {
    double rate = options.eventsPerSecond();
    // With a rate limit, send about 50 small batches a second rather than one 256-event burst.
    int batchSize =
        rate > 0
            ? (int) Math.max(1, Math.min(options.batchSize(), Math.ceil(rate / 50)))
            : options.batchSize();
    RateLimiter limiter = rate > 0 ? RateLimiter.create(rate) : null;
    long nextSequence = firstSequence;
    List<Event> batch = new ArrayList<>(batchSize);
    while (true) {
      batch.clear();
      BadInputException bad = null;
      boolean ended = false;
      int bytes = 0;
      try {
        while (batch.size() < batchSize && bytes < MAX_REQUEST_BYTES) {
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
          limiter.acquire(batch.size()); // the sender thread may wait; gRPC threads never do
        }
        if (!call.awaitReady()) {
          return bad; // the stream failed or ended; finish() reports why
        }
        call.write(
            PublishRequest.newBuilder()
                .setProducerId(options.producerId())
                .setFirstSequence(nextSequence)
                .addAllEvents(batch)
                .build(),
            batch.size());
        nextSequence += batch.size();
      }
      if (bad != null || ended) {
        call.halfClose();
        return bad;
      }
    }
  }

  /**
   * One Publish call: the response observer (gRPC callbacks) and the state the sender thread waits
   * on. Callbacks and the sender share {@link #lock}; the callbacks hold it only to record and
   * signal.
   */
  private final class Call implements ClientResponseObserver<PublishRequest, PublishAck> {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final long startNanos = System.nanoTime();

    @GuardedBy("lock")
    private ClientCallStreamObserver<PublishRequest> requests;

    @GuardedBy("lock")
    private long ackedThrough;

    @GuardedBy("lock")
    private long duplicates;

    @GuardedBy("lock")
    private long lastAckNanos = System.nanoTime();

    @GuardedBy("lock")
    private Status failure;

    @GuardedBy("lock")
    private boolean completed;

    @GuardedBy("lock")
    private boolean waitingForReady;

    // Written by the sender thread only; volatile so progress() can read them.
    private volatile long lastSent;
    private volatile long sentCount;
    private volatile long requestsWritten;
    private volatile long finalAckNanos;

    Call(long sequenceBeforeFirst) {
      this.lastSent = sequenceBeforeFirst;
      this.ackedThrough = sequenceBeforeFirst;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<PublishRequest> stream) {
      // One ack at a time: acks are small and cumulative, so there is no reason to queue more.
      stream.disableAutoRequestWithInitial(1);
      stream.setOnReadyHandler(this::signal); // spurious calls are harmless: the sender re-checks
      lock.lock();
      try {
        requests = stream;
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void onNext(PublishAck ack) {
      ClientCallStreamObserver<PublishRequest> stream;
      lock.lock();
      try {
        if (ack.getAckedThroughSequence() > ackedThrough) {
          ackedThrough = ack.getAckedThroughSequence();
          lastAckNanos = System.nanoTime();
        }
        duplicates = Math.max(duplicates, ack.getDuplicatesDropped());
        changed.signalAll();
        stream = requests;
      } finally {
        lock.unlock();
      }
      stream.request(1); // request() is safe from any thread
    }

    @Override
    public void onError(Throwable t) {
      lock.lock();
      try {
        // Keep a failure the publisher chose itself (an ack timeout) over the CANCELLED that its
        // own cancel() produces.
        if (failure == null) {
          failure = Status.fromThrowable(t);
        }
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void onCompleted() {
      lock.lock();
      try {
        completed = true;
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }

    private void signal() {
      lock.lock();
      try {
        changed.signalAll();
      } finally {
        lock.unlock();
      }
    }

    /** Blocks the sender until the stream is ready; false if it failed or ended meanwhile. */
    boolean awaitReady() throws InterruptedException {
      lock.lock();
      try {
        // isReady() is checked under the lock and the onReady handler signals under it, so a
        // readiness change between the check and await() cannot be missed.
        while (failure == null && !completed && !requests.isReady()) {
          waitingForReady = true;
          changed.await();
        }
        waitingForReady = false;
        return failure == null && !completed;
      } finally {
        lock.unlock();
      }
    }

    /** Sender thread only; the stream was ready just before. */
    void write(PublishRequest request, int events) {
      requests().onNext(request);
      lastSent += events;
      sentCount += events;
      requestsWritten++;
    }

    void halfClose() {
      ClientCallStreamObserver<PublishRequest> stream;
      lock.lock();
      try {
        if (failure != null || completed) {
          return;
        }
        stream = requests;
      } finally {
        lock.unlock();
      }
      stream.onCompleted();
    }

    void cancel(String why) {
      requests().cancel(why, null);
    }

    private ClientCallStreamObserver<PublishRequest> requests() {
      lock.lock();
      try {
        return requests;
      } finally {
        lock.unlock();
      }
    }

    /**
     * Waits for the ack of the last event written and for the server to close the stream; throws if
     * the stream fails, closes early, or acks stall.
     */
    PublishSummary finish() throws PublishException, InterruptedException {
      long last = lastSent;
      long timeoutNanos = options.ackTimeout().toNanos();
      lock.lock();
      try {
        while (ackedThrough < last && failure == null && !completed) {
          long waited = System.nanoTime() - lastAckNanos;
          if (waited >= timeoutNanos) {
            Status status =
                Status.DEADLINE_EXCEEDED.withDescription(
                    "no acknowledgement for "
                        + options.ackTimeout().toMillis() / 1000.0
                        + " s with events unacked (acked through "
                        + ackedThrough
                        + " of "
                        + last
                        + "); the pipeline may be stuck: check `sluice status`");
            failure = status;
            requests.cancel(status.getDescription(), null);
            break;
          }
          changed.awaitNanos(timeoutNanos - waited);
        }
        if (ackedThrough >= last) {
          finalAckNanos = System.nanoTime();
        }
        if (failure != null) {
          throw new PublishException(
              "publishing failed: " + failure.getCode(), failure, summaryLocked());
        }
        if (ackedThrough < last) {
          Status status =
              Status.ABORTED.withDescription(
                  "the ingest closed the stream after acknowledging through sequence "
                      + ackedThrough
                      + " of "
                      + last
                      + "; send the rest again with the same producer id (repeats are dropped)");
          throw new PublishException("publishing stopped early", status, summaryLocked());
        }
        // Everything is acked; give the ingest a moment to close its side, then stop waiting:
        // nothing more can be lost.
        long closeDeadline = System.nanoTime() + CLOSE_GRACE.toNanos();
        while (!completed && failure == null) {
          long left = closeDeadline - System.nanoTime();
          if (left <= 0) {
            requests.cancel("all events acknowledged; the ingest did not close the stream", null);
            break;
          }
          changed.awaitNanos(left);
        }
        return summaryLocked();
      } finally {
        lock.unlock();
      }
    }

    @GuardedBy("lock")
    private PublishSummary summaryLocked() {
      long end = finalAckNanos != 0 ? finalAckNanos : System.nanoTime();
      double seconds = Math.max(1e-9, (end - startNanos) / 1e9);
      long sent = sentCount;
      return new PublishSummary(sent, seconds, sent / seconds, ackedThrough, duplicates);
    }

    Progress progress() {
      lock.lock();
      try {
        return new Progress(
            sentCount,
            ackedThrough,
            duplicates,
            requestsWritten,
            waitingForReady,
            (System.nanoTime() - startNanos) / 1e9);
      } finally {
        lock.unlock();
      }
    }
  }
}
