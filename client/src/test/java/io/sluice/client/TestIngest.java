package io.sluice.client;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.IngestServiceGrpc;
import io.sluice.proto.v1.PublishAck;
import io.sluice.proto.v1.PublishRequest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An IngestService on a real loopback Netty server that behaves like a checkpointing ingest, with
 * faults on demand:
 *
 * <ul>
 *   <li>It takes events in sequence per producer, drops repeats (counting them per stream, as the
 *       real ingest does) and rejects a gap with the real ingest's {@code INVALID_ARGUMENT}.
 *   <li>Taken events are "committed" only at a checkpoint: after every {@code ackEvery} requests,
 *       and on a timer (so the tail of a producer's events is committed too). Acks say how far the
 *       committed side goes, so they lag behind the writes.
 *   <li>Chaos, from a seeded {@link Random} per request: kill a stream ({@code UNAVAILABLE}); a
 *       restore (everything taken but not committed is forgotten, and every stream ends {@code
 *       UNAVAILABLE}); or complete a stream early. And {@link #restart()}: the server shuts down and a new
 *       one listens on the same port, with a restore.
 * </ul>
 *
 * <p>Thread-safe: one lock guards the state and every call to a stream's observer (callbacks run
 * on the transport threads; checkpoints on a timer thread).
 */
final class TestIngest implements AutoCloseable {
  /** What the chaos may do per request; probabilities in [0, 1]. */
  record Chaos(long seed, double kill, double restore, double completeEarly) {
    static final Chaos NONE = new Chaos(0, 0, 0, 0);
  }

  private final Object lock = new Object();
  private final int ackEvery;
  private final Random random;
  private final Chaos chaos;
  private final ScheduledExecutorService timer;

  // Durable across restarts, like a checkpoint store. All guarded by lock.
  private final Map<String, Long> lastTaken = new HashMap<>();
  private final Map<String, Long> lastCommitted = new HashMap<>();
  private final Map<String, List<Event>> uncommitted = new HashMap<>();
  private final Map<String, List<Event>> committed = new HashMap<>();
  private final Set<Stream> streams = new LinkedHashSet<>();
  private long requests;
  private long duplicates;
  private long faults;
  private long streamsOpened;
  private boolean acking = true;
  private Status failWith;

  private Server server;
  private int port;

  /** One client stream; guarded by the ingest's lock. */
  private static final class Stream {
    final ServerCallStreamObserver<PublishAck> call;
    String producer;
    long duplicates;
    long requests;
    boolean closed;

    Stream(ServerCallStreamObserver<PublishAck> call) {
      this.call = call;
    }
  }

  /**
   * @param ackEvery a checkpoint (and so acks) after every this many requests
   * @param checkpointMillis and on a timer with this period; 0 for none
   */
  TestIngest(int ackEvery, long checkpointMillis, Chaos chaos) throws IOException {
    this.ackEvery = ackEvery;
    this.chaos = chaos;
    this.random = new Random(chaos.seed());
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "test-ingest-checkpoints");
              t.setDaemon(true);
              return t;
            });
    if (checkpointMillis > 0) {
      timer.scheduleAtFixedRate(
          this::checkpoint, checkpointMillis, checkpointMillis, TimeUnit.MILLISECONDS);
    }
    server = newServer(0);
    port = server.getPort();
  }

  private Server newServer(int onPort) throws IOException {
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", onPort))
        .directExecutor()
        .flowControlWindow(64 * 1024)
        .addService(new Service())
        .build()
        .start();
  }

  String target() {
    return "127.0.0.1:" + port;
  }

  /** Events the committed side holds for {@code producer}, in the order committed. */
  List<Event> committed(String producer) {
    synchronized (lock) {
      return List.copyOf(committed.getOrDefault(producer, List.of()));
    }
  }

  long duplicates() {
    synchronized (lock) {
      return duplicates;
    }
  }

  long faults() {
    synchronized (lock) {
      return faults;
    }
  }

  long streamsOpened() {
    synchronized (lock) {
      return streamsOpened;
    }
  }

  long requests() {
    synchronized (lock) {
      return requests;
    }
  }

  /** Stop (false) or resume (true) checkpoints and acks; taking events goes on. */
  void acking(boolean on) {
    synchronized (lock) {
      acking = on;
    }
    if (on) {
      checkpoint();
    }
  }

  /** Answer every request from now on with {@code status} instead of taking it. */
  void failWith(Status status) {
    synchronized (lock) {
      failWith = status;
    }
  }

  /** Commits what was taken and acks every open stream through its producer's committed position. */
  void checkpoint() {
    synchronized (lock) {
      if (!acking) {
        return;
      }
      for (Map.Entry<String, List<Event>> e : uncommitted.entrySet()) {
        committed.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).addAll(e.getValue());
        e.getValue().clear();
        lastCommitted.put(e.getKey(), lastTaken.getOrDefault(e.getKey(), 0L));
      }
      for (Stream s : streams) {
        if (!s.closed && s.producer != null) {
          try {
            s.call.onNext(
                PublishAck.newBuilder()
                    .setProducerId(s.producer)
                    .setAckedThroughSequence(lastCommitted.getOrDefault(s.producer, 0L))
                    .setDuplicatesDropped(s.duplicates)
                    .build());
          } catch (RuntimeException e) {
            s.closed = true; // cancelled by the client; its onError follows
          }
        }
      }
    }
  }

  /** Forgets what was taken since the last checkpoint, as a restore does. Under the lock. */
  private void rollBackLocked() {
    for (Map.Entry<String, List<Event>> e : uncommitted.entrySet()) {
      e.getValue().clear();
      lastTaken.put(e.getKey(), lastCommitted.getOrDefault(e.getKey(), 0L));
    }
  }

  private void endLocked(Stream s, Status status) {
    if (s.closed) {
      return;
    }
    s.closed = true;
    streams.remove(s);
    try {
      if (status == null) {
        s.call.onCompleted();
      } else {
        s.call.onError(status.asRuntimeException());
      }
    } catch (RuntimeException e) {
      // cancelled by the client meanwhile
    }
  }

  /** A restore: rolls back and ends every stream with UNAVAILABLE. */
  void restore() {
    synchronized (lock) {
      faults++;
      rollBackLocked();
      for (Stream s : List.copyOf(streams)) {
        endLocked(s, Status.UNAVAILABLE.withDescription("restoring checkpoint; reconnect"));
      }
    }
  }

  /** Shuts the server down (a restore, from the client's side) and starts a new one on the port. */
  void restart() throws IOException, InterruptedException {
    Server old;
    synchronized (lock) {
      faults++;
      rollBackLocked();
      streams.forEach(s -> s.closed = true);
      streams.clear();
      old = server;
    }
    old.shutdownNow();
    old.awaitTermination(10, TimeUnit.SECONDS);
    IOException last = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try {
        Server fresh = newServer(port);
        synchronized (lock) {
          server = fresh;
        }
        return;
      } catch (IOException e) {
        last = e; // the port may linger for a moment after the old server closed
        Thread.sleep(20);
      }
    }
    throw new IOException("could not listen on port " + port + " again", last);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    Server s;
    synchronized (lock) {
      s = server;
    }
    s.shutdownNow();
    try {
      s.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Service extends IngestServiceGrpc.IngestServiceImplBase {
    @Override
    public StreamObserver<PublishRequest> publish(StreamObserver<PublishAck> responses) {
      Stream s = new Stream((ServerCallStreamObserver<PublishAck>) responses);
      synchronized (lock) {
        streams.add(s);
        streamsOpened++;
      }
      return new StreamObserver<>() {
        @Override
        public void onNext(PublishRequest request) {
          synchronized (lock) {
            if (s.closed) {
              return;
            }
            requests++;
            s.requests++;
            if (failWith != null) {
              endLocked(s, failWith);
              return;
            }
            if (!request.getProducerId().isEmpty()) {
              s.producer = request.getProducerId();
            }
            double dice = random.nextDouble();
            boolean takeFirst = random.nextBoolean();
            if (!takeFirst && chaosLocked(s, dice)) {
              return;
            }
            if (!takeLocked(s, request)) {
              return;
            }
            if (takeFirst && chaosLocked(s, dice)) {
              return;
            }
            if (requests % ackEvery == 0) {
              checkpoint();
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          synchronized (lock) {
            s.closed = true;
            streams.remove(s);
          }
        }

        @Override
        public void onCompleted() {
          synchronized (lock) {
            endLocked(s, null);
          }
        }
      };
    }

    /** Takes a request as the real ingest does; false when it rejected it (a gap). */
    private boolean takeLocked(Stream s, PublishRequest request) {
      String producer = s.producer;
      long last = lastTaken.getOrDefault(producer, 0L);
      if (request.getFirstSequence() > last + 1) {
        // The real ingest's words (IngestEndpoint).
        endLocked(
            s,
            Status.INVALID_ARGUMENT.withDescription(
                "sequence gap for producer "
                    + producer
                    + ": expected "
                    + (last + 1)
                    + ", got "
                    + request.getFirstSequence()
                    + "; events through "
                    + last
                    + " are safe, resend from "
                    + (last + 1)));
        return false;
      }
      long seq = request.getFirstSequence();
      List<Event> pending = uncommitted.computeIfAbsent(producer, k -> new ArrayList<>());
      for (Event e : request.getEventsList()) {
        if (seq > last) {
          pending.add(e);
          last = seq;
        } else {
          s.duplicates++;
          duplicates++;
        }
        seq++;
      }
      lastTaken.put(producer, last);
      return true;
    }

    /** Maybe does something nasty; true when the stream is gone. */
    private boolean chaosLocked(Stream s, double dice) {
      double p = chaos.kill();
      if (dice < p) {
        faults++;
        endLocked(s, Status.UNAVAILABLE.withDescription("chaos: stream killed"));
        return true;
      }
      if (dice < (p += chaos.restore())) {
        restore();
        return true;
      }
      if (dice < p + chaos.completeEarly()) {
        faults++;
        endLocked(s, null);
        return true;
      }
      return false;
    }
  }
}
