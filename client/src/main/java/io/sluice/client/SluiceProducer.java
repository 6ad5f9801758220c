package io.sluice.client;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.sluice.client.internal.Backoff;
import io.sluice.client.internal.ResendPoint;
import io.sluice.client.internal.UnackedBuffer;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.IngestServiceGrpc;
import io.sluice.proto.v1.PublishAck;
import io.sluice.proto.v1.PublishRequest;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Streams events into an ingest stage ({@code IngestService.Publish}) and keeps every event until
 * the ingest has acknowledged it, so a broken stream loses nothing.
 *
 * <pre>{@code
 * try (SluiceProducer producer = SluiceProducer.builder("localhost:7001", "orders-1").build()) {
 *   for (Event e : events) {
 *     producer.send(e);            // blocks while maxUnacked events are unacknowledged
 *   }
 * }                                // close() waits until everything is acknowledged
 * }</pre>
 *
 * <h2>Delivery</h2>
 *
 * {@link #send} numbers each event with the next sequence (from {@link Builder#firstSequence}, 1 by
 * default) and puts it in the unacked buffer. One {@code Publish} stream at a time writes the
 * buffer in order, in batches of up to {@link Builder#batchSize} events (a batch waits at most
 * {@link Builder#linger} for more). An acknowledgement through sequence {@code n} releases every
 * event up to {@code n}. With checkpoints on, the ingest acknowledges only what a completed
 * checkpoint covers, so acknowledgements may lag the writes by a checkpoint interval or more.
 *
 * <p>When the stream ends with {@code UNAVAILABLE}, {@code ABORTED}, {@code DEADLINE_EXCEEDED} or
 * a {@code CANCELLED} the producer did not ask for, or the ingest completes it while events are
 * unacknowledged (a restarted or restoring ingest does this), the producer opens a new stream
 * after an exponential backoff with jitter ({@link Builder#backoff}: 100 ms doubling to 5 s by
 * default, reset by an acknowledgement) and resends every unacknowledged event from the first; the
 * ingest drops repeats by (producer id, sequence) and counts them in {@link
 * ProducerStats#duplicatesDroppedByServer()}. An {@code INVALID_ARGUMENT} for a sequence gap whose
 * description names the sequence to resend from is handled the same way, from that sequence. Any
 * other error, and a gap the producer cannot fill (the events were acknowledged and released
 * before), fails the producer: {@link ProducerException} from every later call. So does a stretch
 * of {@link Builder#ackTimeout} without a new acknowledgement while events are unacknowledged,
 * whether or not a stream is open.
 *
 * <h2>Flow control and memory</h2>
 *
 * The stream is written only while it is ready (manual flow control: the producer waits for
 * gRPC's {@code onReadyHandler} rather than queueing), and acknowledgements are requested one at a
 * time. The unacked buffer is bounded by {@link Builder#maxUnacked} events and {@link
 * Builder#maxUnackedBytes} serialized bytes: {@link #send} blocks while it is full, which is how a
 * slow or backpressured pipeline, or lagging acknowledgements, hold the caller back. Memory is
 * therefore at most the buffer (as heap objects) plus, in the transport, the stream's on-ready
 * threshold and one request. With checkpoints on, one producer's throughput is at most about
 * {@code maxUnacked / (checkpoint interval + checkpoint duration)} events per second.
 *
 * <h2>Threading</h2>
 *
 * Thread-safe: any thread may call any method. Concurrent senders get sequences in the order their
 * {@code send} calls take the producer's lock. {@link #send}, {@link #sendAll}, {@link
 * #awaitAcked} and {@link #close} block; {@link #flush}, {@link #stats} and {@link #abort} do not
 * wait for the ingest. The producer owns one I/O thread (a daemon named {@code
 * sluice-producer-<id>}) that opens streams, waits for readiness and writes; gRPC callbacks only
 * record acknowledgements and stream ends under the producer's lock and wake that thread: they
 * never block on I/O or wait for the caller.
 */
public final class SluiceProducer implements AutoCloseable {
  /** Default {@link Builder#maxUnacked}: events held until acknowledged. */
  public static final int DEFAULT_MAX_UNACKED = 100_000;

  /** Default {@link Builder#maxUnackedBytes}: 64 MiB of serialized events. */
  public static final long DEFAULT_MAX_UNACKED_BYTES = 64L * 1024 * 1024;

  /** Default {@link Builder#batchSize}. */
  public static final int DEFAULT_BATCH_SIZE = 256;

  /** Default {@link Builder#linger}. */
  public static final Duration DEFAULT_LINGER = Duration.ofMillis(5);

  /** Default {@link Builder#maxRequestBytes}: a request is cut once its events reach 1 MiB. */
  public static final int DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;

  /** Default {@link Builder#onReadyThreshold}. */
  public static final int DEFAULT_ON_READY_THRESHOLD_BYTES = 256 * 1024;

  /** Default {@link Builder#ackTimeout}. */
  public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofMinutes(2);

  /** Default first delay of {@link Builder#backoff}. */
  public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(100);

  /** Default cap of {@link Builder#backoff}. */
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);

  /** After the last acknowledgement and our half-close, how long the ingest gets to close. */
  private static final long CLOSE_GRACE_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final String producerId;
  private final IngestServiceGrpc.IngestServiceStub stub;
  private final ManagedChannel ownedChannel;
  private final int maxUnacked;
  private final long maxUnackedBytes;
  private final int batchSize;
  private final long lingerNanos;
  private final int maxRequestBytes;
  private final long ackTimeoutNanos;
  private final Backoff backoff;
  private final long firstSequence;
  private final Thread ioThread;

  private final ReentrantLock lock = new ReentrantLock();
  /** The I/O thread waits here: for events, readiness, stream ends, acks, backoff expiry. */
  private final Condition ioWake = lock.newCondition();
  /** Senders wait here for room in the buffer. */
  private final Condition room = lock.newCondition();
  /** {@link #awaitAcked} waits here for acknowledgements, failure or the end. */
  private final Condition progress = lock.newCondition();

  @GuardedBy("lock")
  private final UnackedBuffer buffer;

  @GuardedBy("lock")
  private Attempt stream;

  @GuardedBy("lock")
  private long streamsOpened;

  /** Failed streams since the last acknowledgement that advanced: the backoff's attempt. */
  @GuardedBy("lock")
  private int failedAttempts;

  @GuardedBy("lock")
  private long reconnectAtNanos;

  /** Where the next stream starts, when the ingest asked (a gap); 0: the first unacked. */
  @GuardedBy("lock")
  private long resendFrom;

  /** The last acknowledgement that advanced, or when the buffer last became non-empty. */
  @GuardedBy("lock")
  private long lastProgressNanos;

  /** When the oldest unwritten event arrived, roughly: the start of the current linger. */
  @GuardedBy("lock")
  private long lingerStartNanos;

  @GuardedBy("lock")
  private long flushThrough;

  @GuardedBy("lock")
  private Status lastFailure;

  @GuardedBy("lock")
  private boolean closing;

  @GuardedBy("lock")
  private String abortReason;

  /** Terminal: set once, never cleared. */
  @GuardedBy("lock")
  private Status failure;

  @GuardedBy("lock")
  private boolean terminated;

  @GuardedBy("lock")
  private boolean channelReleased;

  @GuardedBy("lock")
  private long sent;

  @GuardedBy("lock")
  private long resent;

  @GuardedBy("lock")
  private long requestsWritten;

  @GuardedBy("lock")
  private long duplicatesOfEndedStreams;

  @GuardedBy("lock")
  private boolean waitingForReady;

  private SluiceProducer(Builder b) {
    this.producerId = b.producerId;
    this.ownedChannel = b.channel == null ? openChannel(b.target) : null;
    Channel channel = b.channel != null ? b.channel : ownedChannel;
    this.stub = IngestServiceGrpc.newStub(channel).withOnReadyThreshold(b.onReadyThresholdBytes);
    this.maxUnacked = b.maxUnacked;
    this.maxUnackedBytes = b.maxUnackedBytes;
    this.batchSize = b.batchSize;
    this.lingerNanos = b.linger.toNanos();
    this.maxRequestBytes = b.maxRequestBytes;
    this.ackTimeoutNanos = b.ackTimeout.toNanos();
    this.backoff = b.backoff;
    this.firstSequence = b.firstSequence;
    this.buffer = new UnackedBuffer(b.firstSequence);
    this.ioThread = new Thread(this::runIo, "sluice-producer-" + producerId);
    ioThread.setDaemon(true);
    ioThread.start();
  }

  /**
   * Plaintext, with callbacks on the transport thread: ours only take the producer's lock briefly
   * and signal, so a thread hop per message would only cost.
   */
  private static ManagedChannel openChannel(String target) {
    return NettyChannelBuilder.forTarget(target).usePlaintext().directExecutor().build();
  }

  /**
   * A builder for a producer that opens (and closes) its own plaintext channel to {@code target}.
   *
   * @param target the ingest instance, {@code "host:port"} (as {@code sluice status} shows it)
   * @param producerId identifies this producer to the ingest; keep it across restarts of the
   *     application if it resends from earlier sequences, so repeats are dropped
   */
  public static Builder builder(String target, String producerId) {
    Objects.requireNonNull(target, "target");
    if (target.isBlank()) {
      throw new IllegalArgumentException("target must be host:port, got an empty string");
    }
    return new Builder(target, null, producerId);
  }

  /**
   * A builder for a producer that calls over {@code channel} (TLS, interceptors, … are the
   * caller's); the caller owns the channel and closes it after the producer.
   */
  public static Builder builder(Channel channel, String producerId) {
    return new Builder(null, Objects.requireNonNull(channel, "channel"), producerId);
  }

  /** The producer id every request carries. */
  public String producerId() {
    return producerId;
  }

  /**
   * Adds an event and returns its sequence. Blocks while the unacked buffer is full (that is the
   * backpressure). The event is written within {@link Builder#linger} or when a batch fills.
   *
   * @throws ProducerException when the producer has failed
   * @throws IllegalStateException after {@link #close} or {@link #abort}
   * @throws InterruptedException when interrupted while waiting for room; the event was not added
   */
  public long send(Event event) throws InterruptedException {
    Objects.requireNonNull(event, "event");
    int size = event.getSerializedSize();
    lock.lockInterruptibly();
    try {
      awaitRoomLocked(1, size);
      return appendLocked(event, size, System.nanoTime());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Adds events atomically: consecutive sequences, and the I/O thread sees all of them or none.
   * Blocks until the buffer has room for all of them.
   *
   * @return the sequence of the last one ({@code lastSequence} unchanged when {@code events} is
   *     empty)
   * @throws IllegalArgumentException when there are more events than {@link Builder#maxUnacked}
   * @throws ProducerException when the producer has failed
   * @throws IllegalStateException after {@link #close} or {@link #abort}
   * @throws InterruptedException when interrupted while waiting for room; nothing was added
   */
  public long sendAll(List<Event> events) throws InterruptedException {
    if (events.size() > maxUnacked) {
      throw new IllegalArgumentException(
          events.size() + " events cannot fit a buffer of " + maxUnacked + " (maxUnacked)");
    }
    long bytes = 0;
    int[] sizes = new int[events.size()];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = Objects.requireNonNull(events.get(i), "event").getSerializedSize();
      bytes += sizes[i];
    }
    lock.lockInterruptibly();
    try {
      awaitRoomLocked(events.size(), bytes);
      long now = System.nanoTime();
      long last = buffer.lastSequence();
      for (int i = 0; i < sizes.length; i++) {
        last = appendLocked(events.get(i), sizes[i], now);
      }
      return last;
    } finally {
      lock.unlock();
    }
  }

  @GuardedBy("lock")
  private void awaitRoomLocked(int n, long bytes) throws InterruptedException {
    while (true) {
      checkUsableLocked();
      if (buffer.hasRoom(n, bytes, maxUnacked, maxUnackedBytes)) {
        return;
      }
      room.await();
    }
  }

  @GuardedBy("lock")
  private long appendLocked(Event event, int size, long now) {
    if (buffer.isEmpty()) {
      lastProgressNanos = now; // the ack timeout counts from when something awaits an ack
    }
    long unsentBefore = buffer.unsent();
    if (unsentBefore == 0) {
      lingerStartNanos = now;
    }
    long sequence = buffer.append(event, size);
    // Wake the I/O thread only when it has something new to decide: a linger to start (or a
    // stream to open), or a full batch.
    if (unsentBefore == 0 || (unsentBefore < batchSize && buffer.unsent() >= batchSize)) {
      ioWake.signal();
    }
    return sequence;
  }

  @GuardedBy("lock")
  private void checkUsableLocked() {
    if (failure != null) {
      throw failedLocked();
    }
    if (closing || abortReason != null) {
      throw new IllegalStateException("producer " + producerId + " is closed");
    }
  }

  @GuardedBy("lock")
  private ProducerException failedLocked() {
    return new ProducerException(
        "producer " + producerId + " failed: " + describe(failure), failure, statsLocked());
  }

  /**
   * Writes every event given so far without waiting for the linger; does not wait for
   * acknowledgements (see {@link #awaitAcked}).
   *
   * @throws ProducerException when the producer has failed
   */
  public void flush() {
    lock.lock();
    try {
      if (failure != null) {
        throw failedLocked();
      }
      flushLocked();
    } finally {
      lock.unlock();
    }
  }

  @GuardedBy("lock")
  private void flushLocked() {
    if (buffer.lastSequence() > flushThrough) {
      flushThrough = buffer.lastSequence();
      ioWake.signal();
    }
  }

  /**
   * Flushes, then waits until every event given before this call is acknowledged.
   *
   * @return true when they all are; false when {@code timeout} passed first
   * @throws ProducerException when the producer fails before
   * @throws IllegalStateException when the producer was aborted before
   */
  public boolean awaitAcked(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + Math.min(timeout.toNanos(), Long.MAX_VALUE / 4);
    lock.lockInterruptibly();
    try {
      long target = buffer.lastSequence();
      flushLocked();
      while (buffer.ackedThrough() < target) {
        if (failure != null) {
          throw failedLocked();
        }
        if (terminated) {
          throw new IllegalStateException(
              "producer " + producerId + " was aborted (" + abortReason + ")");
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        progress.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Flushes, waits until every event is acknowledged, ends the stream and releases the producer's
   * thread and its own channel. How long this takes is bounded by the {@link Builder#ackTimeout}
   * after the last acknowledgement. Idempotent.
   *
   * @throws ProducerException when events were left unacknowledged: the producer failed (before or
   *     while closing), or the calling thread was interrupted (the interrupt flag is set again)
   */
  @Override
  public void close() {
    boolean clean;
    try {
      clean = close(Duration.ofNanos(Long.MAX_VALUE));
    } catch (InterruptedException e) {
      abort("interrupted while closing");
      Thread.currentThread().interrupt();
      clean = false;
    }
    if (!clean) {
      lock.lock();
      try {
        if (failure != null) {
          throw failedLocked();
        }
        Status status =
            Status.CANCELLED.withDescription(
                "closed with "
                    + buffer.size()
                    + " events unacknowledged ("
                    + (abortReason != null ? abortReason : "aborted")
                    + ")");
        throw new ProducerException(
            "producer " + producerId + " closed early: " + describe(status), status, statsLocked());
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Like {@link #close()}, but gives up after {@code timeout}: then the stream is cancelled and the
   * unacknowledged events are dropped.
   *
   * @return whether every event was acknowledged
   */
  public boolean close(Duration timeout) throws InterruptedException {
    lock.lock();
    try {
      closing = true;
      flushLocked();
      ioWake.signal();
      room.signalAll(); // blocked senders fail: the producer is closed
    } finally {
      lock.unlock();
    }
    long nanos = timeout.toNanos();
    if (nanos >= Long.MAX_VALUE / 2) {
      ioThread.join();
    } else {
      TimeUnit.NANOSECONDS.timedJoin(ioThread, Math.max(1, nanos));
    }
    if (ioThread.isAlive()) {
      abort("close timed out after " + timeout);
    }
    releaseChannel();
    lock.lock();
    try {
      return failure == null && buffer.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops at once: cancels the stream, drops the unacknowledged events, releases the thread and
   * the producer's own channel. Blocked senders get {@link IllegalStateException}. Idempotent.
   */
  public void abort() {
    abort("aborted");
  }

  private void abort(String why) {
    lock.lock();
    try {
      if (abortReason == null) {
        abortReason = why;
      }
      ioWake.signal();
      room.signalAll();
      progress.signalAll();
    } finally {
      lock.unlock();
    }
    // The I/O thread only has a non-blocking cancel left to do; wait for it uninterruptibly.
    boolean interrupted = false;
    while (ioThread.isAlive()) {
      try {
        ioThread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    releaseChannel();
  }

  private void releaseChannel() {
    lock.lock();
    try {
      if (channelReleased) {
        return;
      }
      channelReleased = true;
    } finally {
      lock.unlock();
    }
    if (ownedChannel != null) {
      ownedChannel.shutdownNow();
    }
  }

  /** The producer's counters now. */
  public ProducerStats stats() {
    lock.lock();
    try {
      return statsLocked();
    } finally {
      lock.unlock();
    }
  }

  @GuardedBy("lock")
  private ProducerStats statsLocked() {
    long duplicates = duplicatesOfEndedStreams + (stream != null ? stream.duplicates : 0);
    return new ProducerStats(
        sent,
        buffer.ackedThrough() - (firstSequence - 1),
        resent,
        Math.max(0, streamsOpened - 1),
        duplicates,
        buffer.lastSequence(),
        buffer.ackedThrough(),
        buffer.size(),
        buffer.bytes(),
        requestsWritten,
        waitingForReady,
        stream != null && !stream.ended,
        lastFailure == null ? "" : describe(lastFailure));
  }

  // ---------------------------------------------------------------------------------------------
  // The I/O thread: decides under the lock, acts (gRPC calls) outside it.

  private void runIo() {
    try {
      Runnable step;
      while ((step = nextStep()) != null) {
        step.run();
      }
    } catch (InterruptedException e) {
      // Nobody else holds this thread; treat it like an abort.
      failFromIoThread(Status.CANCELLED.withDescription("the producer's I/O thread was interrupted"));
    } catch (RuntimeException | Error e) {
      failFromIoThread(
          Status.INTERNAL.withDescription("the producer's I/O thread failed: " + e).withCause(e));
      if (e instanceof Error) {
        throw (Error) e;
      }
    } finally {
      lock.lock();
      try {
        terminated = true;
        waitingForReady = false;
        progress.signalAll();
        room.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  private void failFromIoThread(Status status) {
    Attempt s;
    lock.lock();
    try {
      if (failure == null) {
        failure = status;
      }
      s = stream;
      stream = null;
    } finally {
      lock.unlock();
    }
    if (s != null && s.call != null) {
      s.call.cancel(status.getDescription(), null);
    }
  }

  /** Waits, under the lock, until there is something to do; null when the thread is done. */
  private Runnable nextStep() throws InterruptedException {
    lock.lock();
    try {
      while (true) {
        long now = System.nanoTime();
        Attempt s = stream;
        if (s != null && s.ended) {
          streamEndedLocked(s, now);
          continue;
        }
        if (failure != null || abortReason != null) {
          waitingForReady = false;
          if (s != null && !s.cancelled) {
            s.cancelled = true;
            String why = failure != null ? describe(failure) : abortReason;
            return () -> s.call.cancel(why, null);
          }
          return null;
        }
        if (!buffer.isEmpty() && now - lastProgressNanos >= ackTimeoutNanos) {
          failLocked(ackTimeoutStatus(now));
          continue;
        }
        long ackDeadline = buffer.isEmpty() ? Long.MAX_VALUE : lastProgressNanos + ackTimeoutNanos;

        if (s == null) {
          if (buffer.isEmpty()) {
            if (closing) {
              return null; // everything acknowledged
            }
            ioWake.await(); // connect lazily, when there is something to send
            continue;
          }
          if (now - reconnectAtNanos < 0) {
            awaitUntilLocked(Math.min(reconnectAtNanos, ackDeadline), now);
            continue;
          }
          return openStreamLocked();
        }

        if (buffer.isEmpty() && closing) {
          if (!s.halfClosed) {
            s.halfClosed = true;
            s.halfClosedAtNanos = now;
            return () -> s.call.onCompleted();
          }
          if (s.cancelled) {
            return null;
          }
          if (now - s.halfClosedAtNanos >= CLOSE_GRACE_NANOS) {
            // Everything is acknowledged: nothing can be lost by not waiting any longer.
            s.cancelled = true;
            return () ->
                s.call.cancel("all events acknowledged; the ingest did not close the stream", null);
          }
          awaitUntilLocked(s.halfClosedAtNanos + CLOSE_GRACE_NANOS, now);
          continue;
        }

        long unsent = buffer.unsent();
        if (unsent > 0) {
          boolean due =
              buffer.resending()
                  || unsent >= batchSize
                  || closing
                  || flushThrough > buffer.writtenThrough()
                  || now - lingerStartNanos >= lingerNanos;
          if (due) {
            // isReady() is read under the lock and the onReady handler signals under it, so a
            // change between this check and the wait below cannot be missed.
            if (s.call.isReady()) {
              waitingForReady = false;
              UnackedBuffer.Batch batch = buffer.nextBatch(batchSize, maxRequestBytes);
              requestsWritten++;
              sent += batch.events().size() - batch.resent();
              resent += batch.resent();
              if (buffer.unsent() > 0 && !buffer.resending()) {
                lingerStartNanos = now;
              }
              return () -> write(s, batch);
            }
            waitingForReady = true;
            awaitUntilLocked(ackDeadline, now);
          } else {
            awaitUntilLocked(Math.min(lingerStartNanos + lingerNanos, ackDeadline), now);
          }
          continue;
        }
        awaitUntilLocked(ackDeadline, now);
      }
    } finally {
      lock.unlock();
    }
  }

  @GuardedBy("lock")
  private void awaitUntilLocked(long deadlineNanos, long now) throws InterruptedException {
    if (deadlineNanos == Long.MAX_VALUE) {
      ioWake.await();
    } else if (deadlineNanos - now > 0) {
      ioWake.awaitNanos(deadlineNanos - now);
    }
  }

  @GuardedBy("lock")
  private Runnable openStreamLocked() {
    long from = resendFrom > 0 ? resendFrom : buffer.ackedThrough() + 1;
    resendFrom = 0;
    // An acknowledgement may have overtaken the resend point meanwhile; never rewind below it.
    buffer.rewindTo(Math.max(from, buffer.ackedThrough() + 1));
    Attempt a = new Attempt();
    stream = a;
    streamsOpened++;
    return () -> stub.publish(a);
  }

  private void write(Attempt s, UnackedBuffer.Batch batch) {
    PublishRequest request =
        PublishRequest.newBuilder()
            .setProducerId(producerId)
            .setFirstSequence(batch.firstSequence())
            .addAllEvents(batch.events())
            .build();
    try {
      s.call.onNext(request);
    } catch (RuntimeException e) {
      // Not expected (only this thread writes or cancels); end the stream like a transport error.
      lock.lock();
      try {
        if (!s.ended) {
          s.ended = true;
          s.endStatus = Status.fromThrowable(e);
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /** Decides what a stream's end means: done, reconnect (and from where), or fail. */
  @GuardedBy("lock")
  private void streamEndedLocked(Attempt s, long now) {
    stream = null;
    duplicatesOfEndedStreams += s.duplicates;
    if (s.cancelled) {
      return; // we cancelled it, for a reason already recorded
    }
    Status status = s.endStatus;
    if (buffer.isEmpty() && (status == null || closing)) {
      // A clean end, or closing with everything acknowledged: whatever the status, nothing is
      // lost. (Otherwise a new stream opens when there is something to send.)
      return;
    }
    if (status == null) {
      status =
          Status.UNAVAILABLE.withDescription(
              "the ingest ended the stream with events unacknowledged (acked through "
                  + buffer.ackedThrough()
                  + " of "
                  + buffer.lastSequence()
                  + ")");
    }
    switch (status.getCode()) {
      case UNAVAILABLE:
      case ABORTED:
      case DEADLINE_EXCEEDED:
      case CANCELLED: // not ours (s.cancelled is false): the server's or the transport's
        scheduleReconnectLocked(status, now);
        return;
      case INVALID_ARGUMENT:
        OptionalLong from = ResendPoint.parse(status.getDescription());
        if (from.isEmpty()) {
          failLocked(status);
        } else if (from.getAsLong() <= buffer.ackedThrough()) {
          failLocked(
              Status.FAILED_PRECONDITION.withDescription(
                  "the ingest asks to resend from sequence "
                      + from.getAsLong()
                      + ", but events through "
                      + buffer.ackedThrough()
                      + " were acknowledged before and released (was the pipeline restored from an"
                      + " older savepoint, or is producer id '"
                      + producerId
                      + "' used twice?): "
                      + status.getDescription()));
        } else if (from.getAsLong() > buffer.lastSequence() + 1) {
          failLocked(
              Status.FAILED_PRECONDITION.withDescription(
                  "the ingest asks to resend from sequence "
                      + from.getAsLong()
                      + ", after the last one this producer sent ("
                      + buffer.lastSequence()
                      + "; is producer id '"
                      + producerId
                      + "' used twice?): "
                      + status.getDescription()));
        } else {
          resendFrom = from.getAsLong();
          scheduleReconnectLocked(status, now);
        }
        return;
      default:
        failLocked(status);
    }
  }

  @GuardedBy("lock")
  private void scheduleReconnectLocked(Status why, long now) {
    lastFailure = why;
    failedAttempts++;
    reconnectAtNanos = now + backoff.delayNanos(failedAttempts);
  }

  @GuardedBy("lock")
  private void failLocked(Status status) {
    if (failure == null) {
      failure = status;
    }
    room.signalAll();
    progress.signalAll();
  }

  @GuardedBy("lock")
  private Status ackTimeoutStatus(long now) {
    // Milliseconds as seconds: "0.3", "120.0".
    String seconds = Double.toString(TimeUnit.NANOSECONDS.toMillis(ackTimeoutNanos) / 1000.0);
    if (failedAttempts > 0 && lastFailure != null && (stream == null || !stream.acked)) {
      // Unreachable, or failing on every attempt: report why, not just that time ran out.
      String description =
          lastFailure.getDescription() != null
              ? lastFailure.getDescription()
              : lastFailure.getCause() != null ? String.valueOf(lastFailure.getCause()) : "";
      return Status.fromCode(lastFailure.getCode())
          .withDescription(
              description
                  + " (gave up after "
                  + streamsOpened
                  + " attempts and "
                  + seconds
                  + " s without an acknowledgement; acked through "
                  + buffer.ackedThrough()
                  + " of "
                  + buffer.lastSequence()
                  + ")")
          .withCause(lastFailure.getCause());
    }
    return Status.DEADLINE_EXCEEDED.withDescription(
        "no acknowledgement for "
            + seconds
            + " s with events unacked (acked through "
            + buffer.ackedThrough()
            + " of "
            + buffer.lastSequence()
            + "); is the pipeline stuck?");
  }

  private static String describe(Status status) {
    String description = status.getDescription();
    if (description == null && status.getCause() != null) {
      description = String.valueOf(status.getCause().getMessage());
    }
    return status.getCode() + (description == null ? "" : ": " + description);
  }

  /**
   * One {@code Publish} call. Its callbacks run on gRPC's threads: they record under the producer's
   * lock and wake the I/O thread, nothing else.
   */
  private final class Attempt implements ClientResponseObserver<PublishRequest, PublishAck> {
    // Set in beforeStart, which gRPC runs inside stub.publish on the I/O thread, before any other
    // callback and before the I/O thread touches it again.
    private volatile ClientCallStreamObserver<PublishRequest> call;

    @GuardedBy("lock")
    boolean ended;

    /** Null when the server completed the stream. */
    @GuardedBy("lock")
    Status endStatus;

    /** We cancelled it (failure, abort, close grace): its end is not a reason to reconnect. */
    @GuardedBy("lock")
    boolean cancelled;

    @GuardedBy("lock")
    boolean halfClosed;

    @GuardedBy("lock")
    long halfClosedAtNanos;

    /** Whether any acknowledgement arrived on this stream. */
    @GuardedBy("lock")
    boolean acked;

    /** The ingest's count of repeats on this stream (cumulative per stream). */
    @GuardedBy("lock")
    long duplicates;

    @Override
    public void beforeStart(ClientCallStreamObserver<PublishRequest> requests) {
      // One ack at a time: acks are small and cumulative, so there is no reason to queue more.
      requests.disableAutoRequestWithInitial(1);
      requests.setOnReadyHandler(this::onReady); // spurious calls are harmless: the I/O thread re-checks
      call = requests;
    }

    private void onReady() {
      lock.lock();
      try {
        ioWake.signal();
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void onNext(PublishAck ack) {
      lock.lock();
      try {
        // An ack beyond what was sent (a producer id used twice) cannot release more than we hold.
        if (buffer.release(ack.getAckedThroughSequence()) > 0) {
          lastProgressNanos = System.nanoTime();
          failedAttempts = 0; // the ingest is taking events again: reconnect quickly next time
          room.signalAll();
          progress.signalAll();
        }
        duplicates = Math.max(duplicates, ack.getDuplicatesDropped());
        acked = true;
        ioWake.signal();
      } finally {
        lock.unlock();
      }
      call.request(1); // request() may be called from any thread
    }

    @Override
    public void onError(Throwable t) {
      end(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      end(null);
    }

    private void end(Status status) {
      lock.lock();
      try {
        if (!ended) {
          ended = true;
          endStatus = status;
        }
        ioWake.signal();
      } finally {
        lock.unlock();
      }
    }
  }

  /** Configures a {@link SluiceProducer}. Not thread-safe; build once. */
  public static final class Builder {
    private final String target;
    private final Channel channel;
    private final String producerId;
    private int maxUnacked = DEFAULT_MAX_UNACKED;
    private long maxUnackedBytes = DEFAULT_MAX_UNACKED_BYTES;
    private int batchSize = DEFAULT_BATCH_SIZE;
    private Duration linger = DEFAULT_LINGER;
    private int maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES;
    private int onReadyThresholdBytes = DEFAULT_ON_READY_THRESHOLD_BYTES;
    private Duration ackTimeout = DEFAULT_ACK_TIMEOUT;
    private Backoff backoff = Backoff.withJitter(DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF);
    private long firstSequence = 1;

    private Builder(String target, Channel channel, String producerId) {
      this.target = target;
      this.channel = channel;
      this.producerId = Objects.requireNonNull(producerId, "producerId");
      if (producerId.isEmpty()) {
        throw new IllegalArgumentException("producerId must not be empty");
      }
    }

    /**
     * Most events held unacknowledged (default {@value #DEFAULT_MAX_UNACKED}); {@code send} blocks
     * beyond it.
     */
    public Builder maxUnacked(int events) {
      this.maxUnacked = positive(events, "maxUnacked");
      return this;
    }

    /**
     * Most serialized bytes held unacknowledged (default 64 MiB); {@code send} blocks beyond it,
     * except that an empty buffer takes one event of any size.
     */
    public Builder maxUnackedBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxUnackedBytes must be positive, got " + bytes);
      }
      this.maxUnackedBytes = bytes;
      return this;
    }

    /** Most events per {@code PublishRequest} (default {@value #DEFAULT_BATCH_SIZE}). */
    public Builder batchSize(int events) {
      this.batchSize = positive(events, "batchSize");
      return this;
    }

    /**
     * How long an event may wait for a batch to fill before it is written (default 5 ms); zero
     * writes whatever there is as soon as the stream is ready.
     */
    public Builder linger(Duration linger) {
      if (linger.isNegative()) {
        throw new IllegalArgumentException("linger must be >= 0, got " + linger);
      }
      this.linger = linger;
      return this;
    }

    /**
     * A request takes no more events once they reach this many serialized bytes (default 1 MiB);
     * keep it well under the ingest's maximum message size.
     */
    public Builder maxRequestBytes(int bytes) {
      this.maxRequestBytes = positive(bytes, "maxRequestBytes");
      return this;
    }

    /**
     * Bytes gRPC may queue on the stream before it stops being ready (default 256 KiB): what the
     * transport holds beyond the request being written.
     */
    public Builder onReadyThreshold(int bytes) {
      this.onReadyThresholdBytes = positive(bytes, "onReadyThreshold");
      return this;
    }

    /**
     * The producer fails when no acknowledgement advances for this long while events are
     * unacknowledged, connected or not (default 2 minutes). With checkpoints, keep it well above
     * the checkpoint interval plus timeout.
     */
    public Builder ackTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("ackTimeout must be positive, got " + timeout);
      }
      this.ackTimeout = timeout;
      return this;
    }

    /**
     * The delay before reconnecting after a failed stream: {@code initial} doubling per failed
     * attempt up to {@code max}, each drawn from {@code [d/2, d]} (default 100 ms to 5 s); reset
     * when an acknowledgement advances.
     */
    public Builder backoff(Duration initial, Duration max) {
      this.backoff = Backoff.withJitter(initial, max);
      return this;
    }

    /**
     * The sequence of the first event (default 1): a producer resuming after a restart passes the
     * one after its last acknowledged event (or an earlier one: the ingest drops repeats).
     */
    public Builder firstSequence(long sequence) {
      if (sequence < 1) {
        throw new IllegalArgumentException("sequences start at 1, got " + sequence);
      }
      this.firstSequence = sequence;
      return this;
    }

    /** Starts the producer's I/O thread; the first stream opens with the first event. */
    public SluiceProducer build() {
      return new SluiceProducer(this);
    }

    private static int positive(int value, String name) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be positive, got " + value);
      }
      return value;
    }
  }
}
