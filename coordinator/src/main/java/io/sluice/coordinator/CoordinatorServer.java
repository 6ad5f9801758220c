package io.sluice.coordinator;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.sluice.coordinator.admin.AdminServiceImpl;
import io.sluice.coordinator.admin.StatusReporter;
import io.sluice.coordinator.control.ControlServiceImpl;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.liveness.LivenessMonitor;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.ControlServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A running coordinator: a gRPC server (Netty) with {@code ControlService}, {@code AdminService}
 * and the standard gRPC health service, plus the liveness check on a scheduler.
 *
 * <pre>{@code
 * PipelineSpec spec = SpecLoader.load(Path.of("clicks.yaml"));
 * try (CoordinatorServer coordinator =
 *     CoordinatorServer.start(spec, "0.0.0.0", spec.coordinatorPort())) {
 *   coordinator.awaitFinished(Duration.ofDays(365));
 * }
 * }</pre>
 *
 * <p>Thread-safe. {@link #awaitFinished} blocks its caller; nothing else blocks.
 */
public final class CoordinatorServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(CoordinatorServer.class.getName());
  private static final Duration GRACE = Duration.ofSeconds(5);

  private final PipelineSpec spec;
  private final Server server;
  private final HealthStatusManager health;
  private final ScheduledExecutorService scheduler;
  private final PipelineLifecycle lifecycle;
  private final ControlServiceImpl control;

  private CoordinatorServer(
      PipelineSpec spec,
      Server server,
      HealthStatusManager health,
      ScheduledExecutorService scheduler,
      PipelineLifecycle lifecycle,
      ControlServiceImpl control) {
    this.spec = spec;
    this.server = server;
    this.health = health;
    this.scheduler = scheduler;
    this.lifecycle = lifecycle;
    this.control = control;
  }

  /**
   * Starts a coordinator for the pipeline.
   *
   * @param spec a validated spec ({@link io.sluice.coordinator.spec.SpecLoader})
   * @param bindHost the address to listen on, e.g. "0.0.0.0" or "127.0.0.1"
   * @param port the port; usually {@code spec.coordinatorPort()}, 0 for any free one
   * @throws IOException when the port cannot be bound
   */
  public static CoordinatorServer start(PipelineSpec spec, String bindHost, int port)
      throws IOException {
    InstanceRegistry registry = new InstanceRegistry(spec, System::nanoTime);
    RouteComputer routes = new RouteComputer(spec, registry);
    PipelineLifecycle lifecycle = new PipelineLifecycle(registry);
    ControlServiceImpl control = new ControlServiceImpl(registry, routes, lifecycle);
    AdminServiceImpl admin =
        new AdminServiceImpl(registry, new StatusReporter(registry, lifecycle), control);
    HealthStatusManager health = new HealthStatusManager();

    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(bindHost, port))
        .addService(control)
        .addService(admin)
        .addService(health.getHealthService())
        // Instances heartbeat on the control stream; let them keep idle connections open too.
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build()
        .start();
    for (String service : List.of(
        "", ControlServiceGrpc.SERVICE_NAME, AdminServiceGrpc.SERVICE_NAME)) {
      health.setStatus(service, ServingStatus.SERVING);
    }

    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sluice-coordinator-liveness");
      t.setDaemon(true);
      return t;
    });
    LivenessMonitor liveness =
        new LivenessMonitor(registry, spec.heartbeat().timeout(), control::instancesDied);
    // Check at the heartbeat interval: a death is seen at most one interval after the timeout.
    liveness.schedule(scheduler, spec.heartbeat().interval());

    LOG.log(System.Logger.Level.INFO, "coordinator of pipeline '" + spec.name() + "' listening on "
        + bindHost + ":" + server.getPort() + " (" + spec.stages().size() + " stages, heartbeat "
        + spec.heartbeat().interval().toMillis() + " ms, timeout "
        + spec.heartbeat().timeout().toMillis() + " ms)");
    return new CoordinatorServer(spec, server, health, scheduler, lifecycle, control);
  }

  /** The port the server listens on (the bound one when started with port 0). */
  public int port() {
    return server.getPort();
  }

  public PipelineSpec spec() {
    return spec;
  }

  /** The pipeline's state now. */
  public PipelineState state() {
    return lifecycle.state();
  }

  /** Drains the pipeline (as {@code AdminService.Drain} does); returns at once. */
  public void drain(String reason) {
    control.drainPipeline(reason);
  }

  /**
   * Waits until the pipeline's state is "finished".
   *
   * @return true when it finished, false when the timeout passed first
   */
  public boolean awaitFinished(Duration timeout) throws InterruptedException {
    return lifecycle.awaitFinished(timeout);
  }

  /**
   * Stops gracefully: health turns NOT_SERVING, control streams end with UNAVAILABLE, running
   * calls get a few seconds to finish, then the server stops. Idempotent.
   */
  @Override
  public void close() {
    health.enterTerminalState();
    scheduler.shutdownNow();
    control.shutdown("close() was called");
    server.shutdown();
    try {
      if (!server.awaitTermination(GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    LOG.log(System.Logger.Level.INFO, "coordinator of pipeline '" + spec.name() + "' stopped");
  }
}
