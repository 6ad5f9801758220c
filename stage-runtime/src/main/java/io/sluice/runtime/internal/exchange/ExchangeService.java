package io.sluice.runtime.internal.exchange;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.EndAck;
import io.sluice.proto.v1.Feedback;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.StageServiceGrpc;
import io.sluice.runtime.internal.task.InputChannel;
import io.sluice.runtime.internal.task.Mailbox;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The receiving end of the data plane: serves {@code StageService.Exchange}.
 *
 * <p>Flow control is manual: the call asks gRPC for one message per free slot of the channel's
 * bounded queue, and for one more each time the subtask has processed a frame. Until then gRPC does
 * not read the stream, its HTTP/2 window stays closed and the sender's {@code isReady()} turns
 * false: that is the backpressure.
 *
 * <p>Threading: gRPC callbacks run on the transport thread (the server uses {@code
 * directExecutor()}); they only validate the first frame and queue frames, never block.
 */
public final class ExchangeService implements io.grpc.BindableService {
  private static final Logger LOG = Logger.getLogger(ExchangeService.class.getName());

  /** Receives newly opened channels; called on a transport thread, must not block. */
  public interface Acceptor {
    void accept(InputChannel channel, ChannelOpen open);
  }

  private final String pipeline;
  private final String instanceId;
  private final int credits;
  private final Mailbox mailbox;
  private final Acceptor acceptor;
  private final long epoch;
  private final java.util.Set<ServerChannel> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean shuttingDown;

  /**
   * @param epoch the restore epoch this instance runs at: streams opened at another epoch are
   *     refused, so data from before a restore never mixes with data after it
   */
  public ExchangeService(
      String pipeline, String instanceId, int credits, Mailbox mailbox, Acceptor acceptor, long epoch) {
    this.epoch = epoch;
    this.pipeline = pipeline;
    this.instanceId = instanceId;
    this.credits = credits;
    this.mailbox = mailbox;
    this.acceptor = acceptor;
  }

  /** New streams are refused with UNAVAILABLE from now on. */
  public void shutdown() {
    shuttingDown = true;
  }

  /** Refuses new streams and ends every open one with ABORTED (a restore). Any thread. */
  public void abortAll(String reason) {
    shuttingDown = true;
    for (ServerChannel c : open) {
      c.abort(reason);
      c.fail(new IllegalStateException(c.name() + ": " + reason));
    }
    open.clear();
  }

  /** StageService with {@link FrameCodec}: batches stay bytes until the subtask needs them. */
  @Override
  public io.grpc.ServerServiceDefinition bindService() {
    return io.grpc.ServerServiceDefinition.builder(StageServiceGrpc.SERVICE_NAME)
        .addMethod(FrameCodec.EXCHANGE, io.grpc.stub.ServerCalls.asyncBidiStreamingCall(this::exchange))
        .build();
  }

  private StreamObserver<Object> exchange(StreamObserver<Feedback> responseObserver) {
    ServerCallStreamObserver<Feedback> call = (ServerCallStreamObserver<Feedback>) responseObserver;
    call.disableAutoRequest();
    if (shuttingDown) {
      call.onError(
          Status.UNAVAILABLE
              .withDescription(instanceId + " is shutting down; send to the instances in your next routes")
              .asRuntimeException());
      return new Discard();
    }
    call.request(1); // the ChannelOpen frame
    return new StreamObserver<>() {
      private volatile ServerChannel channel;

      {
        // Must be set before this observer is returned to gRPC.
        call.setOnCancelHandler(() -> {
          ServerChannel c = channel;
          if (c != null) {
            c.fail(new IllegalStateException(c.name() + ": sender cancelled"));
          }
        });
      }

      @Override
      public void onNext(Object item) {
        if (channel == null) {
          open(item);
          return;
        }
        if (item instanceof Frame frame && frame.hasEnd()) {
          channel.endReceived = true;
        }
        channel.offer(item);
      }

      private void open(Object item) {
        if (!(item instanceof Frame frame) || !frame.hasOpen()) {
          call.onError(
              Status.INVALID_ARGUMENT
                  .withDescription(
                      "the first frame of an Exchange stream must be 'open' (ChannelOpen), got "
                          + (item instanceof Frame f ? f.getKindCase() : "a batch"))
                  .asRuntimeException());
          return;
        }
        ChannelOpen open = frame.getOpen();
        if (!open.getPipeline().equals(pipeline) || !open.getToInstance().equals(instanceId)) {
          call.onError(
              Status.FAILED_PRECONDITION
                  .withDescription(
                      "this is instance '" + instanceId + "' of pipeline '" + pipeline
                          + "', but the stream is for '" + open.getToInstance() + "' of '"
                          + open.getPipeline() + "': refresh routes from the coordinator")
                  .asRuntimeException());
          return;
        }
        if (open.getEpoch() != epoch) {
          boolean stale = open.getEpoch() < epoch;
          call.onError((stale ? Status.ABORTED : Status.UNAVAILABLE)
              .withDescription(instanceId + " runs at restore epoch " + epoch + ", but the stream from "
                  + open.getFromInstance() + " was opened at epoch " + open.getEpoch()
                  + (stale ? ": it is from before the last restore; restore first"
                      : ": this instance has not restored yet; retry with the next routes"))
              .asRuntimeException());
          return;
        }
        String name = open.getFromInstance() + " → " + instanceId
            + (open.getOutput().isEmpty() ? "" : " [" + open.getOutput() + "]");
        ServerChannel c = new ServerChannel(name, credits, mailbox, call);
        channel = c;
        ExchangeService.this.open.add(c);
        acceptor.accept(c, open);
        call.request(credits);
      }

      @Override
      public void onError(Throwable t) {
        if (channel != null) {
          channel.fail(t);
        }
      }

      @Override
      public void onCompleted() {
        if (channel != null) {
          channel.senderHalfClosed();
        }
      }
    };
  }

  /** The subtask's view of one inbound Exchange stream. */
  private static final class ServerChannel extends InputChannel {
    private final ServerCallStreamObserver<Feedback> call;
    // Set on the transport thread when the EndOfStream frame arrives (before it is processed).
    private volatile boolean endReceived;

    ServerChannel(String name, int credits, Mailbox mailbox, ServerCallStreamObserver<Feedback> call) {
      super(name, credits, mailbox);
      this.call = call;
    }

    void senderHalfClosed() {
      if (!endReceived) {
        fail(new IllegalStateException(name() + ": sender half-closed without EndOfStream"));
      }
    }

    @Override
    public void release() {
      call.request(1);
    }

    @Override
    public void acknowledgeEnd(long eventsReceived) {
      synchronized (call) {
        try {
          call.onNext(Feedback.newBuilder()
              .setEndAck(EndAck.newBuilder().setEventsReceived(eventsReceived))
              .build());
          call.onCompleted();
        } catch (RuntimeException e) {
          // The sender went away after sending its end; nothing is lost on our side.
          LOG.log(Level.FINE, name() + ": could not acknowledge end", e);
        }
      }
    }

    @Override
    public void abort(String reason) {
      synchronized (call) {
        try {
          call.onError(Status.ABORTED.withDescription(reason).asRuntimeException());
        } catch (RuntimeException e) {
          LOG.log(Level.FINE, name() + ": could not abort", e);
        }
      }
    }
  }

  private static final class Discard implements StreamObserver<Object> {
    @Override
    public void onNext(Object value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
