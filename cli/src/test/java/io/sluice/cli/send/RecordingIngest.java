package io.sluice.cli.send;

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
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

/**
 * A real IngestService on a loopback Netty server, for tests: records every event it takes, checks
 * sequences and drops repeats as the real ingest does (across streams), acks after each request, and uses manual flow control: it asks
 * for messages only while it holds permits, so a test can stop it reading and then count what it
 * asked for against what it got.
 *
 * <p>Thread-safe: the gRPC callbacks run on the transport thread; the test reads under the lock.
 */
final class RecordingIngest implements AutoCloseable {
  /** The server's HTTP/2 window: small, so flow control bites quickly and the bound is known. */
  static final int WINDOW_BYTES = 64 * 1024;

  private final Object lock = new Object();
  private final List<Event> events = new ArrayList<>();
  private final List<Long> firstSequences = new ArrayList<>();
  private long requested;
  private long received;
  private boolean autoRequest = true;
  private long lastSequence;
  private long duplicates;
  private boolean clientHalfClosed;
  private long streams;
  private ServerCallStreamObserver<PublishAck> call;

  /** Decides, per request (count from 1), whether to fail the stream instead of acking. */
  private BiFunction<Long, PublishRequest, Status> failWhen = (n, r) -> null;

  /** Whether to take requests without ever acking them or ending the stream. */
  private boolean silent;

  /** How many more streams to end, unacked, when their second request arrives. */
  private int completeWithoutAck;

  private final Server server;

  RecordingIngest() throws IOException {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .flowControlWindow(WINDOW_BYTES)
            .directExecutor()
            .addService(new Service())
            .build()
            .start();
  }

  int port() {
    return server.getPort();
  }

  String target() {
    return "127.0.0.1:" + port();
  }

  /** Stop asking for messages: from now on only {@link #release} asks. */
  void pause() {
    synchronized (lock) {
      autoRequest = false;
    }
  }

  /** While paused: ask for {@code n} more messages. */
  void release(int n) {
    synchronized (lock) {
      requestLocked(n);
    }
  }

  /** Ask for one message after each one received again, and ask for one now. */
  void resume() {
    synchronized (lock) {
      autoRequest = true;
      requestLocked(1);
    }
  }

  void failWhen(BiFunction<Long, PublishRequest, Status> rule) {
    synchronized (lock) {
      failWhen = rule;
    }
  }

  void silent() {
    synchronized (lock) {
      silent = true;
    }
  }

  /** Ends every stream, unacked, at its second request. */
  void completeWithoutAck() {
    synchronized (lock) {
      completeWithoutAck = Integer.MAX_VALUE;
    }
  }

  /** Ends the next stream, unacked, at its second request; later streams are served normally. */
  void completeWithoutAckOnce() {
    synchronized (lock) {
      completeWithoutAck = 1;
    }
  }

  /** Publish streams opened so far. */
  long streams() {
    synchronized (lock) {
      return streams;
    }
  }

  List<Event> events() {
    synchronized (lock) {
      return List.copyOf(events);
    }
  }

  List<Long> firstSequences() {
    synchronized (lock) {
      return List.copyOf(firstSequences);
    }
  }

  long requested() {
    synchronized (lock) {
      return requested;
    }
  }

  long received() {
    synchronized (lock) {
      return received;
    }
  }

  boolean clientHalfClosed() {
    synchronized (lock) {
      return clientHalfClosed;
    }
  }

  private void requestLocked(int n) {
    requested += n;
    call.request(n);
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Service extends IngestServiceGrpc.IngestServiceImplBase {
    @Override
    public StreamObserver<PublishRequest> publish(StreamObserver<PublishAck> responses) {
      ServerCallStreamObserver<PublishAck> c = (ServerCallStreamObserver<PublishAck>) responses;
      c.disableAutoRequest();
      synchronized (lock) {
        call = c;
        streams++;
        requestLocked(1);
      }
      return new StreamObserver<>() {
        private boolean closed;
        private long requestsOnStream;

        @Override
        public void onNext(PublishRequest request) {
          synchronized (lock) {
            if (closed) {
              return;
            }
            received++;
            requestsOnStream++;
            if (completeWithoutAck > 0 && requestsOnStream > 1) {
              // Ends the stream cleanly while events are still unacked.
              completeWithoutAck--;
              closed = true;
              c.onCompleted();
              return;
            }
            Status failure = failWhen.apply(received, request);
            if (failure != null) {
              closed = true;
              c.onError(failure.asRuntimeException());
              return;
            }
            if (request.getFirstSequence() > lastSequence + 1) {
              closed = true;
              c.onError(
                  Status.INVALID_ARGUMENT
                      .withDescription(
                          "sequence gap: expected "
                              + (lastSequence + 1)
                              + ", got "
                              + request.getFirstSequence())
                      .asRuntimeException());
              return;
            }
            firstSequences.add(request.getFirstSequence());
            long seq = request.getFirstSequence();
            for (Event e : request.getEventsList()) {
              if (seq > lastSequence) {
                events.add(e);
                lastSequence = seq;
              } else {
                duplicates++;
              }
              seq++;
            }
            if (silent) {
              if (autoRequest) {
                requestLocked(1); // keeps taking, never acks
              }
              return;
            }
            c.onNext(
                PublishAck.newBuilder()
                    .setProducerId(request.getProducerId())
                    .setAckedThroughSequence(lastSequence)
                    .setDuplicatesDropped(duplicates)
                    .build());
            if (autoRequest) {
              requestLocked(1);
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          synchronized (lock) {
            closed = true;
          }
        }

        @Override
        public void onCompleted() {
          synchronized (lock) {
            clientHalfClosed = true;
            if (!closed && !silent) {
              closed = true;
              c.onCompleted();
            }
          }
        }
      };
    }
  }
}
