package io.sluice.stages.enrich;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.FunctionRequest;
import io.sluice.proto.v1.FunctionResponse;
import io.sluice.proto.v1.FunctionServiceGrpc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real {@code FunctionService} on a loopback port for enrich tests. A {@link Behaviour} decides
 * per request: answer (possibly after a delay, so answers overtake each other), fail the whole
 * stream, or stay silent. Counts streams, requests and the most requests outstanding at once
 * (received, neither answered nor lost with their stream).
 */
final class LoopbackFunctionServer implements AutoCloseable {
  /** What to do with one request. */
  sealed interface Action {
    /** Send this response after {@code delayMillis}. */
    record Answer(FunctionResponse response, long delayMillis) implements Action {}

    /** End the stream with UNAVAILABLE: every request outstanding on it is lost. */
    record FailStream() implements Action {}

    /** Never answer. */
    record Ignore() implements Action {}
  }

  /** Decides what to do with a request; {@code index} counts requests over all streams from 0. */
  @FunctionalInterface
  interface Behaviour {
    Action onRequest(FunctionRequest request, int index);
  }

  private final Server server;
  private final Behaviour behaviour;
  private final ScheduledExecutorService delays = Executors.newScheduledThreadPool(2);
  private final AtomicInteger streams = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger maxOutstanding = new AtomicInteger();
  private final Object lock = new Object();
  private int outstanding; // guarded by lock
  final ConcurrentLinkedQueue<FunctionRequest> received = new ConcurrentLinkedQueue<>();

  LoopbackFunctionServer(Behaviour behaviour) {
    this.behaviour = behaviour;
    try {
      server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(new Impl()).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String target() {
    return "localhost:" + server.getPort();
  }

  int streams() {
    return streams.get();
  }

  int requests() {
    return requests.get();
  }

  int maxOutstanding() {
    return maxOutstanding.get();
  }

  @Override
  public void close() {
    server.shutdownNow();
    delays.shutdownNow();
  }

  private final class Impl extends FunctionServiceGrpc.FunctionServiceImplBase {
    @Override
    public StreamObserver<FunctionRequest> process(StreamObserver<FunctionResponse> responses) {
      streams.incrementAndGet();
      return new StreamObserver<>() {
        // Guarded by `lock`, like everything this stream sends: StreamObserver is not thread-safe.
        final Set<Long> open = new HashSet<>();
        boolean failed;

        @Override
        public void onNext(FunctionRequest request) {
          received.add(request);
          Action action = behaviour.onRequest(request, requests.getAndIncrement());
          synchronized (lock) {
            if (failed) {
              return;
            }
            open.add(request.getRequestId());
            outstanding++;
            maxOutstanding.accumulateAndGet(outstanding, Math::max);
          }
          if (action instanceof Action.Answer a) {
            if (a.delayMillis() <= 0) {
              answer(a.response());
            } else {
              delays.schedule(() -> answer(a.response()), a.delayMillis(), TimeUnit.MILLISECONDS);
            }
          } else if (action instanceof Action.FailStream) {
            synchronized (lock) {
              failed = true;
              outstanding -= open.size();
              open.clear();
              responses.onError(Status.UNAVAILABLE.withDescription("injected failure").asRuntimeException());
            }
          }
        }

        private void answer(FunctionResponse response) {
          synchronized (lock) {
            if (failed || !open.remove(response.getRequestId())) {
              return;
            }
            outstanding--; // before sending: the client's count is never below ours
            responses.onNext(response);
          }
        }

        @Override
        public void onError(Throwable t) {
          synchronized (lock) {
            failed = true;
            outstanding -= open.size();
            open.clear();
          }
        }

        @Override
        public void onCompleted() {
          synchronized (lock) {
            if (!failed) {
              responses.onCompleted();
            }
            failed = true;
            outstanding -= open.size();
            open.clear();
          }
        }
      };
    }
  }
}
