package io.sluice.stages.enrich;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.FunctionRequest;
import io.sluice.proto.v1.FunctionResponse;
import io.sluice.proto.v1.FunctionResult;
import io.sluice.proto.v1.FunctionServiceGrpc;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.TraceParent;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC protocol of the enrich stage: one long-lived {@code FunctionService.Process} stream per
 * operator; each call is one {@code FunctionRequest} with a fresh {@code request_id} and the batch's
 * events, answered by the {@code FunctionResponse} with that id, in any order.
 *
 * <p>Per event, the result's single output event carries the enrichment as its payload (a JSON
 * object), to be put under {@code into}; a result with no outputs drops the event (as the contract
 * says: "zero filters the event out"); a result with {@code error} set sends the event to the dead
 * letters at once, with no retry. A failed attempt (retried): no answer within the timeout, the
 * stream failing or ending (every request on it fails; the next call opens a new stream), the wrong
 * number of results, more than one output, or an output payload that is not a JSON object.
 *
 * <p>Flow control: the stream's requests are bounded by the stage's {@code concurrency}, so what
 * gRPC buffers for sending is at most {@code concurrency} requests of {@code batch} events.
 *
 * <p>Threading: {@link #call} and {@link #close} run on the operator's thread; responses and stream
 * errors arrive on gRPC's threads and only complete futures (held in a concurrent map).
 */
final class GrpcTransport implements Transport {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final String target;
  private final ManagedChannel channel;
  private final FunctionServiceGrpc.FunctionServiceStub stub;
  private final ScheduledExecutorService timers;
  // Operator thread only.
  private Stream stream;
  private long nextRequestId = 1;

  /**
   * @param target a gRPC target, e.g. {@code localhost:7101} or {@code dns:///fn.local:443}
   * @param timers fires the per-call timeouts; owned by the caller
   */
  GrpcTransport(String target, ScheduledExecutorService timers) {
    this.target = target;
    this.timers = timers;
    this.channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
    this.stub = FunctionServiceGrpc.newStub(channel);
  }

  @Override
  public CompletableFuture<List<Outcome>> call(List<Record<byte[], byte[]>> events, Duration timeout) {
    Stream s = stream;
    if (s == null || s.failure != null) {
      stream = s = new Stream();
    }
    long id = nextRequestId++;
    FunctionRequest.Builder request = FunctionRequest.newBuilder().setRequestId(id);
    for (Record<byte[], byte[]> e : events) {
      request.addEvents(event(e));
    }
    CompletableFuture<FunctionResponse> answer = s.send(id, request.build());
    Stream on = s;
    ScheduledFuture<?> timer =
        timers.schedule(
            () -> {
              on.forget(id);
              answer.completeExceptionally(
                  new CallFailure(
                      "no answer within " + Durations.describe(timeout) + " from FunctionService at " + target));
            },
            timeout.toNanos(),
            TimeUnit.NANOSECONDS);
    return answer.whenComplete((r, e) -> timer.cancel(false)).thenApply(r -> outcomes(r, events.size()));
  }

  @Override
  public void close() {
    Stream s = stream;
    if (s != null && s.failure == null) {
      try {
        s.requests.onCompleted();
      } catch (RuntimeException e) {
        // already closed underneath us: nothing left to end
      }
    }
    channel.shutdownNow();
  }

  private List<Outcome> outcomes(FunctionResponse response, int events) {
    if (response.getResultsCount() != events) {
      throw malformed("expected " + events + " results (one per event), got " + response.getResultsCount());
    }
    List<Outcome> outcomes = new ArrayList<>(events);
    for (int i = 0; i < events; i++) {
      FunctionResult result = response.getResults(i);
      if (!result.getError().isEmpty()) {
        outcomes.add(new Outcome.Rejected("enrich: " + describe() + " rejected the event: " + result.getError()));
      } else if (result.getOutputsCount() == 0) {
        outcomes.add(new Outcome.Dropped());
      } else if (result.getOutputsCount() > 1) {
        throw malformed(
            "result " + i + " has " + result.getOutputsCount()
                + " outputs; enrich takes one (its payload is the enrichment) or none (drop the event)");
      } else {
        outcomes.add(new Outcome.Enriched(enrichment(result.getOutputs(0), i)));
      }
    }
    return outcomes;
  }

  private JsonNode enrichment(Event output, int i) {
    JsonNode node;
    try {
      node = MAPPER.readTree(output.getPayload().toByteArray());
    } catch (IOException e) {
      throw malformed("the payload of result " + i + " is not JSON");
    }
    if (node == null || !node.isObject()) {
      throw malformed("the payload of result " + i + " is not a JSON object: " + (node == null ? "empty" : node));
    }
    return node;
  }

  private CallFailure malformed(String what) {
    return new CallFailure("malformed answer from " + describe() + ": " + what);
  }

  private String describe() {
    return "FunctionService at " + target;
  }

  private static Event event(Record<byte[], byte[]> r) {
    Event.Builder e =
        Event.newBuilder()
            .setId(r.id())
            .setKey(ByteString.copyFrom(r.key()))
            .setEventTime(r.timestamp())
            .setPayload(ByteString.copyFrom(r.value()))
            .setContentType("application/json")
            .putAllAttributes(r.attributes());
    TraceParent t = r.trace();
    if (t != null) {
      e.setTrace(
          TraceContext.newBuilder()
              .setTraceId(ByteString.copyFrom(t.traceIdBytes()))
              .setSpanId(ByteString.copyFrom(t.spanIdBytes()))
              .setTraceFlags(t.flags())
              .setTraceState(t.traceState()));
    }
    return e.build();
  }

  /** One {@code Process} stream and the requests waiting for their answer on it. */
  private final class Stream implements StreamObserver<FunctionResponse> {
    final Map<Long, CompletableFuture<FunctionResponse>> waiting = new ConcurrentHashMap<>();
    final StreamObserver<FunctionRequest> requests;
    // Set once, when the stream failed or ended; then it takes no more requests.
    volatile CallFailure failure;

    Stream() {
      requests = stub.process(this);
    }

    /** Sends a request; called on the operator's thread only (a StreamObserver is not thread-safe). */
    CompletableFuture<FunctionResponse> send(long id, FunctionRequest request) {
      CompletableFuture<FunctionResponse> answer = new CompletableFuture<>();
      waiting.put(id, answer);
      // Registered before the check: a failure racing with us either sees the entry and fails it,
      // or has set `failure` for us to see here.
      CallFailure failed = failure;
      if (failed != null) {
        waiting.remove(id);
        answer.completeExceptionally(failed);
        return answer;
      }
      try {
        requests.onNext(request);
      } catch (RuntimeException e) {
        waiting.remove(id);
        answer.completeExceptionally(new CallFailure("cannot send to " + describe() + ": " + e));
      }
      return answer;
    }

    void forget(long id) {
      waiting.remove(id);
    }

    @Override
    public void onNext(FunctionResponse response) {
      CompletableFuture<FunctionResponse> answer = waiting.remove(response.getRequestId());
      if (answer != null) {
        answer.complete(response);
      } // else: an answer after its timeout, or to an id we never sent; the attempt is over
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      fail(new CallFailure(
          "the stream to " + describe() + " failed: " + status.getCode()
              + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")")));
    }

    @Override
    public void onCompleted() {
      fail(new CallFailure("the stream to " + describe() + " ended before answering"));
    }

    private void fail(CallFailure f) {
      failure = f;
      for (Long id : waiting.keySet()) {
        CompletableFuture<FunctionResponse> answer = waiting.remove(id);
        if (answer != null) {
          answer.completeExceptionally(f);
        }
      }
    }
  }
}
