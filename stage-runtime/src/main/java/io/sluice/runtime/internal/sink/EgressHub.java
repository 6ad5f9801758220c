package io.sluice.runtime.internal.sink;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.EgressServiceGrpc;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.SubscribeRequest;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.internal.task.RawOperator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The egress operator and its gRPC service. Every event the stage receives is numbered (from 1)
 * and the next number is part of every checkpoint: after a restore the events replayed since the
 * checkpoint get the numbers they had before, so a subscriber that remembers the last number it
 * saw drops repeats (exactly once, as long as the stage before replays in the same order, which it
 * does from one input channel). A restore ends every subscription with UNAVAILABLE; resubscribe
 * with {@code from_sequence} one above the last number seen.
 * and sent, batch by batch, to every subscriber. A subscriber that is not ready holds the stage
 * back — and through it the pipeline — unless it subscribed as {@code lossy}, in which case it
 * misses batches instead. The last {@code buffer} events are kept so a subscriber can resume with
 * {@code from_sequence}.
 *
 * <p>Threading: subscriber lists, the buffer and sequence numbers are confined to the subtask
 * thread; gRPC callbacks post to the mailbox.
 */
final class EgressHub implements Operator<byte[], byte[], byte[], byte[]>, RawOperator {
  private final int bufferCapacity;
  private final ArrayDeque<Event> buffer = new ArrayDeque<>();
  private final List<Subscriber> subscribers = new ArrayList<>();
  private final List<Event> pending = new ArrayList<>();
  private long nextSequence = 1;
  private long pendingFirst = 1;
  private boolean closed;
  // Set on the subtask thread when a restore throws this hub away; read by gRPC threads.
  private volatile boolean disposed;

  EgressHub(int bufferCapacity) {
    this.bufferCapacity = bufferCapacity;
  }

  /** The gRPC service, bound to the subtask's mailbox. */
  EgressServiceGrpc.EgressServiceImplBase service(Mailbox mb) {
    return new EgressServiceGrpc.EgressServiceImplBase() {
      @Override
      public void subscribe(SubscribeRequest request, StreamObserver<EventBatch> observer) {
        ServerCallStreamObserver<EventBatch> call = (ServerCallStreamObserver<EventBatch>) observer;
        if (disposed) {
          // The subtask behind this hub is gone (a restore); its successor serves shortly.
          call.onError(Status.UNAVAILABLE.withDescription("egress is restoring; subscribe again").asRuntimeException());
          return;
        }
        Subscriber s = new Subscriber(call, request);
        call.setOnReadyHandler(mb::wakeup);
        call.setOnCancelHandler(() -> mb.execute(() -> subscribers.remove(s)));
        mb.execute(() -> add(s));
      }
    };
  }

  private void add(Subscriber s) {
    if (closed) {
      s.call.onCompleted();
      return;
    }
    long from = s.request.getFromSequence();
    if (from > 0) {
      long firstHeld = nextSequence - pending.size() - buffer.size();
      if (from < firstHeld) {
        s.call.onError(Status.OUT_OF_RANGE
            .withDescription("egress holds events from sequence " + firstHeld + " (asked for " + from
                + "); resubscribe with from_sequence 0 to follow from now")
            .asRuntimeException());
        return;
      }
      List<Event> replay = new ArrayList<>();
      long seq = firstHeld;
      for (Event e : buffer) {
        if (seq++ >= from) {
          replay.add(e);
        }
      }
      if (!replay.isEmpty()) {
        s.call.onNext(EventBatch.newBuilder()
            .setFirstSequence(nextSequence - pending.size() - replay.size())
            .addAllEvents(replay).build());
      }
    }
    subscribers.add(s);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    throw new UnsupportedOperationException("egress runs on wire events only");
  }

  @Override
  public void process(Event event, Emitter out) {
    if (pending.isEmpty()) {
      pendingFirst = nextSequence;
    }
    pending.add(event);
    nextSequence++;
  }

  @Override
  public void endOfBatch(Emitter out) {
    if (pending.isEmpty()) {
      return;
    }
    EventBatch batch = EventBatch.newBuilder().setFirstSequence(pendingFirst).addAllEvents(pending).build();
    for (Subscriber s : subscribers) {
      int max = s.request.getMaxBatch();
      if (s.request.getLossy() && !s.call.isReady()) {
        s.missed += pending.size();
        continue;
      }
      if (max > 0 && pending.size() > max) {
        for (int i = 0; i < pending.size(); i += max) {
          List<Event> part = pending.subList(i, Math.min(pending.size(), i + max));
          s.call.onNext(EventBatch.newBuilder().setFirstSequence(pendingFirst + i).addAllEvents(part).build());
        }
      } else {
        s.call.onNext(batch);
      }
    }
    for (Event e : pending) {
      if (bufferCapacity > 0) {
        if (buffer.size() == bufferCapacity) {
          buffer.removeFirst();
        }
        buffer.addLast(e);
      }
    }
    pending.clear();
  }

  @Override
  public void snapshotState(io.sluice.runtime.api.StateSnapshot<byte[]> snapshot) {
    snapshot.putOperator(java.nio.ByteBuffer.allocate(Long.BYTES).putLong(nextSequence).array());
  }

  @Override
  public void restoreState(io.sluice.runtime.api.StateRestore<byte[]> restore) {
    for (io.sluice.runtime.api.StateRestore.OperatorEntry e : restore.operatorEntries()) {
      // This instance's own count; after a rescale, the highest (numbers only need to grow).
      long next = java.nio.ByteBuffer.wrap(e.value()).getLong();
      nextSequence = Math.max(nextSequence, next);
    }
    pendingFirst = nextSequence;
  }

  @Override
  public void dispose() {
    disposed = true;
    for (Subscriber s : subscribers) {
      try {
        s.call.onError(Status.UNAVAILABLE
            .withDescription("egress is restoring from a checkpoint; resubscribe with from_sequence one above"
                + " the last number you saw: repeats carry the numbers they had")
            .asRuntimeException());
      } catch (RuntimeException e) {
        // subscriber already gone
      }
    }
    subscribers.clear();
  }

  @Override
  public boolean isReady() {
    for (Subscriber s : subscribers) {
      if (!s.request.getLossy() && !s.call.isReady() && !s.call.isCancelled()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close(Emitter out) {
    endOfBatch(out);
    closed = true;
    for (Subscriber s : subscribers) {
      try {
        s.call.onCompleted();
      } catch (RuntimeException e) {
        // subscriber already gone
      }
    }
    subscribers.clear();
  }

  private static final class Subscriber {
    final ServerCallStreamObserver<EventBatch> call;
    final SubscribeRequest request;
    long missed;

    Subscriber(ServerCallStreamObserver<EventBatch> call, SubscribeRequest request) {
      this.call = call;
      this.request = request;
    }
  }
}
