package io.sluice.runtime.internal.routing;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.EndAck;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.Feedback;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.RouteTarget;
import io.sluice.proto.v1.StageServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A downstream stage instance reduced to what a sender can observe: a StageService on loopback Netty
 * (so that {@code ChannelPool} can dial it by host and port) that records every Exchange stream it
 * is given, and answers an {@code end} frame with {@code Feedback{end_ack}} and completes. Acks can
 * be held back to observe a sender waiting for them.
 *
 * <p>Threading: thread-safe. gRPC callbacks (Netty threads) and the test thread meet on this
 * object's monitor; {@code onChange} is run after every recorded frame, outside the monitor.
 */
final class RecordingReceiver {
  /** What one Exchange stream brought, as seen at the time of the snapshot. */
  record StreamLog(
      ChannelOpen open,
      List<Event> events,
      List<Integer> batchSizes,
      int eventsBeforeEnd,
      List<String> protocolErrors) {

    boolean ended() {
      return eventsBeforeEnd >= 0;
    }
  }

  private final String instanceId;
  private final Runnable onChange;
  private final Server server;

  // Guarded by this.
  private final List<StreamState> streams = new ArrayList<>();
  private final List<Runnable> heldAcks = new ArrayList<>();
  private boolean holdAcks;

  private RecordingReceiver(String instanceId, Runnable onChange) throws IOException {
    this.instanceId = instanceId;
    this.onChange = onChange;
    this.server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .directExecutor()
            .addService(
                new StageServiceGrpc.StageServiceImplBase() {
                  @Override
                  public StreamObserver<Frame> exchange(StreamObserver<Feedback> responses) {
                    return accept(responses);
                  }
                })
            .build()
            .start();
  }

  /** Starts a receiver on an ephemeral loopback port; {@code onChange} typically wakes a mailbox. */
  static RecordingReceiver start(String instanceId, Runnable onChange) throws IOException {
    return new RecordingReceiver(instanceId, onChange);
  }

  String instanceId() {
    return instanceId;
  }

  /** This receiver as a route target without key groups (round robin, broadcast, forward). */
  RouteTarget target(int index) {
    return RouteTarget.newBuilder()
        .setInstanceId(instanceId)
        .setIndex(index)
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(server.getPort()))
        .build();
  }

  /** This receiver as a hash route target owning {@code keyGroups}. */
  RouteTarget target(int index, KeyGroupRange keyGroups) {
    return target(index).toBuilder().setKeyGroups(keyGroups).build();
  }

  /** From now on, answer {@code end} frames only when {@link #releaseEndAcks()} is called. */
  synchronized void holdEndAcks() {
    holdAcks = true;
  }

  /** Sends the held acks, and acks later ends at once. */
  synchronized void releaseEndAcks() {
    holdAcks = false;
    heldAcks.forEach(Runnable::run);
    heldAcks.clear();
  }

  /** Snapshots of every stream opened to this receiver, in the order they opened. */
  synchronized List<StreamLog> streams() {
    List<StreamLog> out = new ArrayList<>();
    for (StreamState s : streams) {
      out.add(
          new StreamLog(
              s.open,
              List.copyOf(s.events),
              List.copyOf(s.batchSizes),
              s.eventsBeforeEnd,
              List.copyOf(s.protocolErrors)));
    }
    return out;
  }

  /** How many streams sent a ChannelOpen frame. */
  synchronized int streamsOpened() {
    int n = 0;
    for (StreamState s : streams) {
      if (s.open != null) {
        n++;
      }
    }
    return n;
  }

  /** Every event received, on any stream, in arrival order per stream. */
  synchronized List<Event> events() {
    List<Event> out = new ArrayList<>();
    for (StreamState s : streams) {
      out.addAll(s.events);
    }
    return out;
  }

  /** The ids of {@link #events()}. */
  List<String> eventIds() {
    return events().stream().map(Event::getId).toList();
  }

  synchronized int eventCount() {
    int n = 0;
    for (StreamState s : streams) {
      n += s.events.size();
    }
    return n;
  }

  /** True when at least one stream was opened and every opened stream got its end frame. */
  synchronized boolean allStreamsEnded() {
    if (streams.isEmpty()) {
      return false;
    }
    for (StreamState s : streams) {
      if (s.eventsBeforeEnd < 0) {
        return false;
      }
    }
    return true;
  }

  /** Stops the server and cancels its streams. */
  void stop() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private StreamObserver<Frame> accept(StreamObserver<Feedback> responses) {
    StreamState s = new StreamState();
    synchronized (this) {
      streams.add(s);
    }
    return new StreamObserver<>() {
      @Override
      public void onNext(Frame frame) {
        synchronized (RecordingReceiver.this) {
          record(s, frame, responses);
        }
        onChange.run();
      }

      @Override
      public void onError(Throwable t) {
        // The sender cancelled or the connection broke: nothing more will come on this stream.
        onChange.run();
      }

      @Override
      public void onCompleted() {
        synchronized (RecordingReceiver.this) {
          if (s.eventsBeforeEnd < 0) {
            s.protocolErrors.add("half-closed without an end frame");
            responses.onCompleted();
          }
        }
        onChange.run();
      }
    };
  }

  // Holds the monitor.
  private void record(StreamState s, Frame frame, StreamObserver<Feedback> responses) {
    if (s.open == null && frame.getKindCase() != Frame.KindCase.OPEN) {
      s.protocolErrors.add("first frame is " + frame.getKindCase() + ", not OPEN");
    }
    if (s.eventsBeforeEnd >= 0) {
      s.protocolErrors.add(frame.getKindCase() + " after the end frame");
    }
    switch (frame.getKindCase()) {
      case OPEN -> {
        if (s.open != null) {
          s.protocolErrors.add("second OPEN");
        }
        if (!frame.getOpen().getToInstance().equals(instanceId)) {
          s.protocolErrors.add("opened for " + frame.getOpen().getToInstance() + ", not " + instanceId);
        }
        s.open = frame.getOpen();
      }
      case BATCH -> {
        s.events.addAll(frame.getBatch().getEventsList());
        s.batchSizes.add(frame.getBatch().getEventsCount());
      }
      case END -> {
        s.eventsBeforeEnd = s.events.size();
        long received = s.events.size();
        Runnable ack =
            () -> {
              responses.onNext(
                  Feedback.newBuilder()
                      .setEndAck(EndAck.newBuilder().setEventsReceived(received))
                      .build());
              responses.onCompleted();
            };
        if (holdAcks) {
          heldAcks.add(ack);
        } else {
          ack.run();
        }
      }
      default -> {
        // Watermarks and barriers are not the router's business here.
      }
    }
  }

  /** One stream's record. Guarded by the receiver's monitor. */
  private static final class StreamState {
    ChannelOpen open;
    final List<Event> events = new ArrayList<>();
    final List<Integer> batchSizes = new ArrayList<>();
    int eventsBeforeEnd = -1;
    final List<String> protocolErrors = new ArrayList<>();
  }
}
