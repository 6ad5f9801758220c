package io.sluice.coordinator.control;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.RouteUpdate;

/**
 * The coordinator's side of one instance's control stream: the commands it sends.
 *
 * <p>Thread-safe: commands are written from many threads (the instance's own callbacks, other
 * instances' registrations, admin calls, the liveness scheduler), and gRPC observers must not be
 * called concurrently, so every write holds this stream's lock. Writes never block: gRPC queues
 * them. Control traffic is small and infrequent (one message per change, and route updates
 * replace each other), so the queue stays small without flow control.
 */
final class OutboundStream {
  private final String stage;
  private final String instanceId;
  private final long session;
  private final StreamObserver<Command> observer;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private boolean closed;

  @GuardedBy("lock")
  private long lastRouteVersion;

  OutboundStream(String stage, String instanceId, long session, StreamObserver<Command> observer) {
    this.stage = stage;
    this.instanceId = instanceId;
    this.session = session;
    this.observer = observer;
  }

  /** The stage of the instance at the other end. */
  String stage() {
    return stage;
  }

  String instanceId() {
    return instanceId;
  }

  long session() {
    return session;
  }

  /** Sends a command; false when the stream is closed. */
  boolean send(Command command) {
    synchronized (lock) {
      return write(command);
    }
  }

  /**
   * Sends a route update unless a newer one went out already: each update replaces the previous
   * one whole, so an older one arriving late would only undo the newer.
   *
   * @return whether it was sent
   */
  boolean sendRoutes(RouteUpdate update) {
    synchronized (lock) {
      if (closed || update.getVersion() <= lastRouteVersion) {
        return false;
      }
      lastRouteVersion = update.getVersion();
      return write(Command.newBuilder().setRoutes(update).build());
    }
  }

  /** Ends the stream with the status (OK ends it cleanly); nothing after. Idempotent. */
  void close(Status status) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (status.isOk()) {
          observer.onCompleted();
        } else {
          observer.onError(status.asRuntimeException());
        }
      } catch (RuntimeException e) {
        // The call is already over (the peer cancelled it): there is nobody left to tell.
      }
    }
  }

  /** Records that the peer ended the stream, so nothing more is written to it. */
  void markClosed() {
    synchronized (lock) {
      closed = true;
    }
  }

  @GuardedBy("lock")
  private boolean write(Command command) {
    if (closed) {
      return false;
    }
    try {
      observer.onNext(command);
      return true;
    } catch (RuntimeException e) {
      // gRPC throws CANCELLED when the peer is gone; the stream's own callback reports the death.
      closed = true;
      return false;
    }
  }
}
