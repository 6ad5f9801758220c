package io.sluice.runtime.internal.control;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.ControlServiceGrpc;
import io.sluice.proto.v1.Heartbeat;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.Register;
import io.sluice.proto.v1.StageReport;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The instance's end of {@code ControlService.Attach}: registers, sends heartbeats and metrics on
 * a timer, and hands the coordinator's commands to a {@link Handler}. If the stream breaks it
 * reconnects with backoff and registers again for the same index, so a restarted coordinator
 * picks the instance up.
 *
 * <p>Threading: reports may be sent from any thread (writes are serialized on this object's lock);
 * handler callbacks run on gRPC's executor and must not block.
 */
public final class ControlClient implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ControlClient.class.getName());

  /** Receives commands. */
  public interface Handler {
    void onCommand(Command command);

    /** The control stream broke; it is being re-established. */
    default void onDisconnected(Status status) {}
  }

  private final ManagedChannel channel;
  private final ScheduledExecutorService scheduler;
  private final Handler handler;
  private final Supplier<InstanceMetrics> metrics;
  private final Object lock = new Object();
  // @GuardedBy("lock")
  private StreamObserver<StageReport> reports;
  // @GuardedBy("lock")
  private Register register;
  // @GuardedBy("lock")
  private boolean closed;
  private volatile long heartbeatMillis = 1_000;
  private ScheduledFuture<?> heartbeat;
  private long backoffMillis = 200;

  public ControlClient(
      String target, ScheduledExecutorService scheduler, Handler handler, Supplier<InstanceMetrics> metrics) {
    this.channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
    this.scheduler = scheduler;
    this.handler = handler;
    this.metrics = metrics;
  }

  /** Opens the stream and registers. */
  public void connect(Register registration) {
    synchronized (lock) {
      this.register = registration;
      open();
    }
  }

  /** Asks to keep the given index on re-registration (after the coordinator assigned one). */
  public void keepIndex(int index) {
    synchronized (lock) {
      register = register.toBuilder().setRequestedIndex(index).build();
    }
  }

  /** The restore epoch to report when registering again (after the coordinator restarted). */
  public void epoch(long epoch) {
    synchronized (lock) {
      register = register.toBuilder().setEpoch(epoch).build();
    }
  }

  public void heartbeatEvery(long millis) {
    heartbeatMillis = Math.max(50, millis);
    scheduleHeartbeat();
  }

  private void open() {
    reports =
        ControlServiceGrpc.newStub(channel)
            .attach(
                new StreamObserver<>() {
                  @Override
                  public void onNext(Command command) {
                    backoffMillis = 200;
                    handler.onCommand(command);
                  }

                  @Override
                  public void onError(Throwable t) {
                    disconnected(Status.fromThrowable(t));
                  }

                  @Override
                  public void onCompleted() {
                    disconnected(Status.UNAVAILABLE.withDescription("coordinator closed the control stream"));
                  }
                });
    reports.onNext(StageReport.newBuilder().setRegister(register).build());
    scheduleHeartbeat();
  }

  private void disconnected(Status status) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (status.getCode() == Status.Code.NOT_FOUND
          || status.getCode() == Status.Code.ALREADY_EXISTS
          || status.getCode() == Status.Code.FAILED_PRECONDITION
          || status.getCode() == Status.Code.INVALID_ARGUMENT) {
        // The coordinator refused us: retrying the same registration cannot help.
        closed = true;
        handler.onDisconnected(status);
        return;
      }
      LOG.warning("control stream to the coordinator broke (" + status + "); reconnecting in "
          + backoffMillis + " ms");
      handler.onDisconnected(status);
      long delay = backoffMillis;
      backoffMillis = Math.min(5_000, backoffMillis * 2);
      scheduler.schedule(() -> {
        synchronized (lock) {
          if (!closed) {
            open();
          }
        }
      }, delay, TimeUnit.MILLISECONDS);
    }
  }

  private void scheduleHeartbeat() {
    synchronized (lock) {
      if (heartbeat != null) {
        heartbeat.cancel(false);
      }
      heartbeat = scheduler.scheduleAtFixedRate(this::beat, 0, heartbeatMillis, TimeUnit.MILLISECONDS);
    }
  }

  private void beat() {
    send(StageReport.newBuilder()
        .setHeartbeat(Heartbeat.newBuilder().setSentAtMillis(System.currentTimeMillis()))
        .build());
    send(StageReport.newBuilder().setMetrics(metrics.get()).build());
  }

  /** Sends a report; dropped (with a log line) while disconnected. Any thread. */
  public void send(StageReport report) {
    synchronized (lock) {
      if (closed || reports == null) {
        return;
      }
      try {
        reports.onNext(report);
      } catch (RuntimeException e) {
        LOG.fine("report not sent: " + e);
      }
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (heartbeat != null) {
        heartbeat.cancel(false);
      }
      try {
        reports.onCompleted();
      } catch (RuntimeException e) {
        LOG.fine("control stream already gone: " + e);
      }
    }
    channel.shutdown();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channel.shutdownNow();
  }
}
