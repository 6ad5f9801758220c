package io.sluice.runtime.internal.exchange;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.EndOfStream;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.Feedback;
import io.sluice.proto.v1.Frame;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.task.Mailbox;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The sending end of one Exchange stream (this instance → one downstream instance, for one
 * output), with its batch under construction.
 *
 * <p>Events are appended to a batch that is sent when it reaches {@code batchMaxEvents} or about
 * {@code batchMaxBytes}, when its linger expires, or before a watermark, barrier or end. The
 * subtask checks {@link #isReady()} before it takes the next input frame; a channel that is not
 * ready stops the subtask, which is how backpressure travels upstream. gRPC's {@code onReady}
 * callback only wakes the subtask.
 *
 * <p>Threading: confined to the subtask thread, except the gRPC callbacks, which touch volatile
 * fields and wake the mailbox.
 */
public final class OutputChannel {
  private static final Logger LOG = Logger.getLogger(OutputChannel.class.getName());

  private final String name;
  private final ChannelOpen open;
  private final ExchangeSettings settings;
  private final Mailbox mailbox;
  private final TaskMetrics metrics;

  private ClientCallStreamObserver<Object> stream;
  // Events (built) and ByteStrings (serialized events forwarded as they came), with their sizes.
  private java.util.ArrayList<Object> batch = new java.util.ArrayList<>();
  private int[] sizes = new int[64];
  private int batchEvents;
  private int batchBytes;
  private long batchStartNanos;
  private long eventsSent;
  private boolean endSent;

  private volatile boolean endAcked;
  private volatile Throwable failure;

  public OutputChannel(
      ChannelOpen open, ExchangeSettings settings, Mailbox mailbox, TaskMetrics metrics) {
    this.open = open;
    this.name = open.getFromInstance() + " → " + open.getToInstance()
        + (open.getOutput().isEmpty() ? "" : " [" + open.getOutput() + "]");
    this.settings = settings;
    this.mailbox = mailbox;
    this.metrics = metrics;
  }

  public String name() {
    return name;
  }

  public String targetInstance() {
    return open.getToInstance();
  }

  /** Opens the stream and sends the ChannelOpen frame. Subtask thread. */
  public void start(Channel channel) {
    io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
        channel.newCall(FrameCodec.EXCHANGE, io.grpc.CallOptions.DEFAULT.withOnReadyThreshold(settings.onReadyThreshold())),
        new ClientResponseObserver<Object, Feedback>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<Object> requestStream) {
            stream = requestStream;
            // Only a wake-up: the subtask decides what to send, on its own thread.
            requestStream.setOnReadyHandler(mailbox::wakeup);
          }

          @Override
          public void onNext(Feedback feedback) {
            if (feedback.hasEndAck()) {
              endAcked = true;
              mailbox.wakeup();
            } else if (feedback.hasError()) {
              LOG.warning(name + ": receiver reports: " + feedback.getError().getMessage());
            }
          }

          @Override
          public void onError(Throwable t) {
            if (!endAcked) {
              failure = t;
              LOG.log(Level.WARNING, name + ": stream failed: " + Status.fromThrowable(t));
            }
            mailbox.wakeup();
          }

          @Override
          public void onCompleted() {
            if (!endAcked) {
              failure = new IllegalStateException(name + ": receiver completed without EndAck");
            }
            mailbox.wakeup();
          }
        });
    stream.onNext(Frame.newBuilder().setOpen(open).build());
  }

  /** True when the stream can take more without queueing beyond the onReady threshold. */
  public boolean isReady() {
    return failure == null && stream != null && stream.isReady();
  }

  public Throwable failure() {
    return failure;
  }

  /** Adds an event to the batch; sends the batch when full. Subtask thread. */
  public void append(Event event) {
    add(event, event.getSerializedSize());
  }

  /** Adds a serialized event, to be sent as it is. Subtask thread. */
  public void appendRaw(com.google.protobuf.ByteString event) {
    add(event, event.size());
  }

  private void add(Object item, int size) {
    if (batchEvents == 0) {
      batchStartNanos = mailbox.nanoTime();
    }
    if (batchEvents == sizes.length) {
      sizes = java.util.Arrays.copyOf(sizes, sizes.length * 2);
    }
    batch.add(item);
    sizes[batchEvents] = size;
    batchEvents++;
    batchBytes += size + 4;
    if (batchEvents >= settings.batchMaxEvents() || batchBytes >= settings.batchMaxBytes()) {
      flush();
    }
  }

  /** When the batch under construction must be sent; Long.MAX_VALUE if empty. */
  public long lingerDeadlineNanos() {
    return batchEvents == 0 ? Long.MAX_VALUE : batchStartNanos + settings.batchLinger().toNanos();
  }

  /** Sends the batch under construction, if any. Subtask thread. */
  public void flush() {
    if (batchEvents == 0) {
      return;
    }
    OutboundBatch b = new OutboundBatch(batch, java.util.Arrays.copyOf(sizes, batchEvents));
    int n = batchEvents;
    int bytes = batchBytes;
    batch = new java.util.ArrayList<>(Math.min(settings.batchMaxEvents(), 1024));
    batchEvents = 0;
    batchBytes = 0;
    if (failure != null) {
      metrics.lost(n);
      return;
    }
    stream.onNext(b);
    eventsSent += n;
    metrics.sent(n, bytes);
  }

  /** Flushes, then sends a control frame (watermark, barrier). Subtask thread. */
  public void sendControl(Frame frame) {
    flush();
    if (failure == null && !endSent) {
      stream.onNext(frame);
    }
  }

  /** Flushes, sends EndOfStream and half-closes. Subtask thread. */
  public void end(String reason) {
    if (endSent) {
      return;
    }
    flush();
    endSent = true;
    if (failure == null) {
      stream.onNext(Frame.newBuilder().setEnd(EndOfStream.newBuilder().setReason(reason)).build());
      stream.onCompleted();
    }
  }

  /** True once the receiver acknowledged the end, or the stream failed (nothing to wait for). */
  public boolean endDone() {
    return endAcked || failure != null;
  }

  public boolean endAcknowledged() {
    return endAcked;
  }

  /** True when no batch is under construction. */
  public boolean batchEmpty() {
    return batchEvents == 0;
  }

  public long eventsSent() {
    return eventsSent;
  }

  /** Drops the stream without an end (routes changed and the target is dead). */
  public void cancel(String reason) {
    if (stream != null && !endAcked) {
      stream.cancel(reason, null);
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
