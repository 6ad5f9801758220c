package io.sluice.runtime.internal.source;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.IngestServiceGrpc;
import io.sluice.proto.v1.PublishAck;
import io.sluice.proto.v1.PublishRequest;
import io.sluice.runtime.internal.task.InputChannel;
import io.sluice.runtime.internal.trace.TraceOrigin;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.internal.task.RawOperator;
import io.sluice.runtime.internal.task.Subtask;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Serves {@code IngestService.Publish}: each client stream becomes an input channel of the
 * subtask, with the same credit-based flow control as the data plane, so a backpressured pipeline
 * stops reading the client's stream and the client's writes stop being ready.
 *
 * <p>Sequence checks, deduplication by (producer id, sequence) and acks happen on the subtask
 * thread ({@link #handle}); the gRPC callbacks only queue requests. Acks are written under the
 * stream's lock because validation errors may race with them.
 */
public final class IngestEndpoint extends IngestServiceGrpc.IngestServiceImplBase
    implements Subtask.ItemHandler {
  private static final Logger LOG = Logger.getLogger(IngestEndpoint.class.getName());

  private final String pipeline;
  private final String instanceId;
  private final int credits;
  private final Mailbox mailbox;
  private final Clock clock;
  private final TaskMetrics metrics;
  private final TraceOrigin traces;
  // The ingest's process spans; null when this process does not trace.
  private final io.sluice.runtime.internal.trace.ProcessSpans spans;
  private Subtask subtask;
  private volatile boolean draining;
  // Confined to the subtask thread.
  private final Map<String, Long> lastSequence = new HashMap<>();
  private long maxEventTime = Long.MIN_VALUE; // subtask thread
  // Checkpoints: acks go only as far as a completed checkpoint covers (subtask thread).
  private boolean ackOnCheckpoint;
  private final java.util.TreeMap<Long, Map<String, Long>> positionsAt = new java.util.TreeMap<>();
  private Map<String, Long> committed = new HashMap<>();
  private Map<String, Long> newestCompleted = new HashMap<>();
  private final java.util.Set<PublishChannel> channels = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Records a span per sampled event through {@code spans}; null when the process does not trace. */
  public IngestEndpoint(
      String pipeline,
      String instanceId,
      int credits,
      Mailbox mailbox,
      Clock clock,
      TaskMetrics metrics,
      TraceOrigin traces,
      io.sluice.runtime.internal.trace.ProcessSpans spans) {
    this.traces = traces;
    this.spans = spans;
    this.pipeline = pipeline;
    this.instanceId = instanceId;
    this.credits = credits;
    this.mailbox = mailbox;
    this.clock = clock;
    this.metrics = metrics;
  }

  public void bind(Subtask subtask) {
    this.subtask = subtask;
  }

  /**
   * With checkpoints, a producer is acked only up to the sequences a completed checkpoint holds,
   * and one checkpoint behind: when checkpoint n completes, the positions of the checkpoint before
   * it are acked. So what is acked survives any failure, even one whose restore must skip a
   * corrupt newest checkpoint for the one before. Call before the subtask runs.
   */
  public void ackOnCheckpoint() {
    this.ackOnCheckpoint = true;
  }

  /**
   * Restores the positions of a checkpoint (subtask thread, before input): repeats up to them are
   * dropped. They are acked once two more checkpoints complete (acks trail by one).
   */
  public void restore(Map<String, Long> positions) {
    lastSequence.putAll(positions);
    newestCompleted = new HashMap<>(positions);
  }

  @Override
  public void snapshot(long checkpointId, io.sluice.runtime.internal.state.StateCollector<?> state) {
    Map<String, Long> positions = Map.copyOf(lastSequence);
    state.sourcePositions(positions);
    positionsAt.put(checkpointId, positions);
  }

  @Override
  public void checkpointComplete(long checkpointId) {
    var done = positionsAt.headMap(checkpointId, true);
    if (done.isEmpty()) {
      return;
    }
    committed = newestCompleted; // one behind: see ackOnCheckpoint
    newestCompleted = new HashMap<>(done.lastEntry().getValue());
    done.clear();
    for (PublishChannel c : channels) {
      long through = c.producer == null ? 0 : committed.getOrDefault(c.producer, 0L);
      if (through > 0 && through > c.acked) {
        c.ack(through);
      }
    }
  }

  /**
   * A restore: refuses new streams and ends every publish stream with UNAVAILABLE, so producers
   * reconnect and resend what was not acked. Any thread.
   */
  public void rejectAll(String reason) {
    draining = true;
    for (PublishChannel c : channels) {
      c.reject(Status.UNAVAILABLE.withDescription(reason
          + "; reconnect and resend every event after the last ack"));
    }
    channels.clear();
  }

  @Override
  public StreamObserver<PublishRequest> publish(StreamObserver<PublishAck> responseObserver) {
    ServerCallStreamObserver<PublishAck> call = (ServerCallStreamObserver<PublishAck>) responseObserver;
    call.disableAutoRequest();
    if (draining) {
      call.onError(Status.UNAVAILABLE
          .withDescription("ingest " + instanceId + " is draining; publish to another ingest instance"
              + " or retry once the pipeline is up again")
          .asRuntimeException());
      return new Discard();
    }
    PublishChannel channel = new PublishChannel("client → " + instanceId, credits, mailbox, call);
    channels.add(channel);
    call.setOnCancelHandler(() -> channel.fail(new IllegalStateException("client cancelled")));
    subtask.attach(channel, ChannelOpen.newBuilder().setPipeline(pipeline).setFromInstance("client").build());
    call.request(credits);
    return new StreamObserver<>() {
      @Override
      public void onNext(PublishRequest request) {
        channel.offer(request);
      }

      @Override
      public void onError(Throwable t) {
        channel.fail(t);
      }

      @Override
      public void onCompleted() {
        channel.clientDone = true;
        channel.fail(new IllegalStateException("client half-closed"));
      }
    };
  }

  @Override
  public long maxEventTime() {
    return maxEventTime;
  }

  @Override
  public void handle(InputChannel ch, Object item, RawOperator.Emitter out) {
    PublishChannel channel = (PublishChannel) ch;
    PublishRequest req = (PublishRequest) item;
    if (channel.closed) {
      return;
    }
    if (!req.getProducerId().isEmpty()) {
      channel.producer = req.getProducerId();
    }
    if (channel.producer == null) {
      channel.reject(Status.INVALID_ARGUMENT.withDescription(
          "the first PublishRequest of a stream must set producer_id"));
      return;
    }
    if (req.getFirstSequence() < 1) {
      channel.reject(Status.INVALID_ARGUMENT.withDescription(
          "first_sequence must be >= 1 (producer " + channel.producer + ", got " + req.getFirstSequence() + ")"));
      return;
    }
    long last = lastSequence.getOrDefault(channel.producer, 0L);
    if (req.getFirstSequence() > last + 1) {
      channel.reject(Status.INVALID_ARGUMENT.withDescription(
          "sequence gap for producer " + channel.producer + ": expected " + (last + 1) + ", got "
              + req.getFirstSequence() + "; events through " + last + " are safe, resend from " + (last + 1)));
      return;
    }
    long seq = req.getFirstSequence();
    int taken = 0;
    long now = clock.millis();
    for (Event e : req.getEventsList()) {
      if (seq > last) {
        boolean traced = e.hasTrace() && TraceOrigin.isValid(e.getTrace());
        // Sampling is decided here, once: a client's context keeps its flag (parent-based).
        boolean sampled = traced ? (e.getTrace().getTraceFlags() & 1) != 0 : traces.nextSampled();
        boolean span = sampled && spans != null;
        if (e.getId().isEmpty() || e.getEventTime() == 0 || !traced || span) {
          Event.Builder b = e.toBuilder();
          if (e.getId().isEmpty()) {
            b.setId(channel.producer + "-" + seq);
          }
          if (e.getEventTime() == 0) {
            b.setEventTime(now);
          }
          if (span) {
            // The ingest's span: a child of the client's, or the root of a new trace; the event
            // carries it on.
            if (traced) {
              spans.startChild(e.getTrace(), b.getId());
            } else {
              spans.startRoot(b.getId());
            }
            b.setTrace(spans.outgoing(traced ? e.getTrace() : null));
          } else if (!traced) {
            // Every event carries a trace context from here on; a client's own is continued.
            b.setTrace(traces.newRoot(sampled));
          }
          e = b.build();
        }
        try {
          out.emit("", e);
        } finally {
          if (span) {
            spans.end();
          }
        }
        maxEventTime = Math.max(maxEventTime, e.getEventTime());
        last = seq;
        taken++;
      } else {
        channel.duplicates++;
      }
      seq++;
    }
    lastSequence.put(channel.producer, last);
    metrics.received(taken);
    subtask.consumeTokens(taken);
    if (!ackOnCheckpoint) {
      channel.ack(last);
    } else {
      long done = committed.getOrDefault(channel.producer, 0L);
      if (done > 0 && done > channel.acked) {
        channel.ack(done); // a restored position, or one completed meanwhile
      }
    }
  }

  @Override
  public void channelClosed(InputChannel ch, Throwable failure) {
    PublishChannel channel = (PublishChannel) ch;
    channels.remove(channel);
    if (draining && !channel.closed) {
      channel.reject(Status.UNAVAILABLE.withDescription(
          "ingest " + instanceId + " drained: every event up to the last ack was taken; send the rest"
              + " to another ingest instance or after a restart"));
    } else if (channel.clientDone && !channel.closed) {
      channel.complete();
    }
  }

  @Override
  public void drain() {
    draining = true;
    LOG.info(instanceId + ": refusing new publish streams; finishing queued requests");
  }

  /** One client stream. */
  private static final class PublishChannel extends InputChannel {
    private final ServerCallStreamObserver<PublishAck> call;
    volatile boolean clientDone;
    boolean closed;
    String producer;
    long duplicates;
    long acked = -1;

    PublishChannel(String name, int credits, Mailbox mailbox, ServerCallStreamObserver<PublishAck> call) {
      super(name, credits, mailbox);
      this.call = call;
    }

    void ack(long through) {
      synchronized (call) {
        if (closed || through < acked) {
          return; // an ack never moves back
        }
        acked = through;
        try {
          call.onNext(PublishAck.newBuilder()
              .setProducerId(producer)
              .setAckedThroughSequence(through)
              .setDuplicatesDropped(duplicates)
              .build());
        } catch (RuntimeException e) {
          closed = true;
        }
      }
    }

    void reject(Status status) {
      synchronized (call) {
        if (closed) {
          return;
        }
        closed = true;
        try {
          call.onError(status.asRuntimeException());
        } catch (RuntimeException e) {
          // already cancelled by the client
        }
      }
      fail(status.asRuntimeException());
    }

    void complete() {
      synchronized (call) {
        if (closed) {
          return;
        }
        closed = true;
        try {
          call.onCompleted();
        } catch (RuntimeException e) {
          // already cancelled by the client
        }
      }
    }

    @Override
    public void release() {
      if (!closed) {
        call.request(1);
      }
    }

    @Override
    public void acknowledgeEnd(long eventsReceived) {
      complete();
    }

    @Override
    public void abort(String reason) {
      reject(Status.ABORTED.withDescription(reason));
    }
  }

  private static final class Discard implements StreamObserver<PublishRequest> {
    @Override
    public void onNext(PublishRequest value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
