package io.sluice.coordinator;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.sluice.coordinator.control.ControlServiceImpl;
import io.sluice.coordinator.dashboard.DashboardPort;
import io.sluice.coordinator.dashboard.DashboardServer;
import io.sluice.coordinator.dashboard.RateHistory;
import io.sluice.coordinator.dashboard.StatusSampler;
import io.sluice.coordinator.metrics.CoordinatorMetrics;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.recovery.SavepointCheck;
import io.sluice.coordinator.spec.CheckpointSpec;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.ControlServiceGrpc;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.checkpoint.CheckpointStore;
import io.sluice.runtime.checkpoint.DirectoryCheckpointStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A running coordinator: a gRPC server (Netty) with {@code ControlService}, {@code AdminService}
 * and the standard gRPC health service; the dashboard ({@link DashboardServer}: page, JSON API and
 * {@code /metrics}) on a port of its own; and, on one scheduler thread (the coordinator thread),
 * the liveness check, the dashboard's once-a-second sample and, when the spec has {@code
 * checkpoints:}, the checkpoint trigger, timeouts and restores (see {@link Coordinator}).
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
  /** How often the dashboard's plots get a point, and how many are kept: ten minutes. */
  private static final Duration SAMPLE_INTERVAL = Duration.ofSeconds(1);
  private static final int SAMPLES_KEPT = 600;

  private final PipelineSpec spec;
  private final Server server;
  private final HealthStatusManager health;
  private final ScheduledExecutorService scheduler;
  private final PipelineLifecycle lifecycle;
  private final ControlServiceImpl control;
  private final DashboardServer dashboard;
  private final CoordinatorMetrics metrics;

  private CoordinatorServer(
      PipelineSpec spec,
      Server server,
      HealthStatusManager health,
      ScheduledExecutorService scheduler,
      PipelineLifecycle lifecycle,
      ControlServiceImpl control,
      DashboardServer dashboard,
      CoordinatorMetrics metrics) {
    this.spec = spec;
    this.server = server;
    this.health = health;
    this.scheduler = scheduler;
    this.lifecycle = lifecycle;
    this.control = control;
    this.dashboard = dashboard;
    this.metrics = metrics;
  }

  /**
   * Starts a coordinator for the pipeline, afresh.
   *
   * @param spec a validated spec ({@link io.sluice.coordinator.spec.SpecLoader})
   * @param bindHost the address to listen on, e.g. "0.0.0.0" or "127.0.0.1"
   * @param port the port; usually {@code spec.coordinatorPort()}, 0 for any free one
   * @throws IOException when the port (or the dashboard's, see {@link DashboardPort}) cannot be
   *     bound, or the checkpoint store cannot be opened
   */
  public static CoordinatorServer start(PipelineSpec spec, String bindHost, int port)
      throws IOException {
    return start(spec, bindHost, port, null);
  }

  /**
   * Starts a coordinator for the pipeline, optionally from a savepoint: once every instance has
   * registered, each restores its stage's state from the savepoint (at the spec's replicas,
   * which may differ from the savepoint's: keyed state follows its key groups), then routes flow.
   *
   * @param fromSavepoint a savepoint folder ({@code <dir>/<pipeline>/savepoint-<n>}); null for a
   *     fresh start
   * @throws IllegalArgumentException when the spec has no {@code checkpoints:} section but a
   *     savepoint is given, or the savepoint does not fit the spec (another maxParallelism, state
   *     of a stage the spec lacks): refused before anything starts
   * @throws IOException when the savepoint cannot be read or fails its checks, the checkpoint
   *     store cannot be opened, or the port cannot be bound
   */
  public static CoordinatorServer start(
      PipelineSpec spec, String bindHost, int port, Path fromSavepoint) throws IOException {
    return start(spec, bindHost, port, fromSavepoint, CoordinatorServer::openStore,
        CoordinatorServer::readSavepoint);
  }

  /** Opens the store of {@code <dir>/<pipeline>}. */
  @FunctionalInterface
  interface StoreOpener {
    CheckpointStore open(Path pipelineDir) throws IOException;
  }

  /** Reads and verifies a savepoint's metadata. */
  @FunctionalInterface
  interface SavepointReader {
    CheckpointMetadata read(Path savepointDir) throws IOException;
  }

  /** {@link #start(PipelineSpec, String, int, Path)} with the store and savepoint reading given. */
  static CoordinatorServer start(
      PipelineSpec spec,
      String bindHost,
      int port,
      Path fromSavepoint,
      StoreOpener stores,
      SavepointReader savepoints)
      throws IOException {
    Optional<CheckpointMetadata> savepoint = Optional.empty();
    if (fromSavepoint != null) {
      Path dir = fromSavepoint.toAbsolutePath().normalize();
      if (spec.checkpoints().isEmpty()) {
        throw new IllegalArgumentException("pipeline '" + spec.name() + "' has no 'checkpoints:'"
            + " section; add one (e.g. checkpoints: {interval: 10s}) to start from savepoint "
            + dir);
      }
      savepoint = Optional.of(savepoints.read(dir));
      SavepointCheck.check(spec, savepoint.get(), dir);
    }
    Optional<CheckpointStore> store = Optional.empty();
    if (spec.checkpoints().isPresent()) {
      store = Optional.of(stores.open(spec.checkpoints().get().storageDir(spec.name())));
    }

    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sluice-coordinator");
      t.setDaemon(true);
      return t;
    });
    Coordinator coordinator;
    Server server;
    DashboardServer dashboard = null;
    HealthStatusManager health = new HealthStatusManager();
    Clock clock = Clock.systemUTC();
    try {
      int dashboardPort = DashboardPort.resolve(spec, System.getenv());
      coordinator = Coordinator.wire(spec, System::nanoTime, clock, scheduler, store, savepoint);
      RateHistory history = new RateHistory(SAMPLES_KEPT);
      dashboard = DashboardServer.start(bindHost, dashboardPort, new DashboardServer.Views(
          coordinator.reporter(), coordinator.checkpoints(), coordinator.errors(), history,
          SAMPLE_INTERVAL, coordinator.metrics(), clock));
      coordinator.reporter().dashboardUrl(dashboard.url());
      new StatusSampler(coordinator.reporter(), history, sourceStages(spec), coordinator.errors(),
          clock).schedule(scheduler, SAMPLE_INTERVAL);
      server = NettyServerBuilder.forAddress(new InetSocketAddress(bindHost, port))
          .addService(coordinator.control())
          .addService(coordinator.admin())
          .addService(health.getHealthService())
          // Instances heartbeat on the control stream; let them keep idle connections open too.
          .permitKeepAliveTime(10, TimeUnit.SECONDS)
          .permitKeepAliveWithoutCalls(true)
          .build()
          .start();
    } catch (IOException | RuntimeException e) {
      scheduler.shutdownNow();
      if (dashboard != null) {
        dashboard.close();
      }
      throw e;
    }
    for (String service : List.of(
        "", ControlServiceGrpc.SERVICE_NAME, AdminServiceGrpc.SERVICE_NAME)) {
      health.setStatus(service, ServingStatus.SERVING);
    }

    // Check at the heartbeat interval: a death is seen at most one interval after the timeout.
    coordinator.liveness().schedule(scheduler, spec.heartbeat().interval());
    coordinator.startCheckpoints();

    LOG.log(System.Logger.Level.INFO, "coordinator of pipeline '" + spec.name() + "' listening on "
        + bindHost + ":" + server.getPort() + " (" + spec.stages().size() + " stages, heartbeat "
        + spec.heartbeat().interval().toMillis() + " ms, timeout "
        + spec.heartbeat().timeout().toMillis() + " ms, "
        + spec.checkpoints().map(c -> describe(c, spec.name())).orElse("no checkpoints")
        + savepoint.map(s -> ", starting from savepoint " + s.getCheckpointId() + " at "
            + fromSavepoint.toAbsolutePath().normalize()).orElse("")
        + "); dashboard at " + dashboard.url() + " (metrics at " + dashboard.url() + "metrics)");
    return new CoordinatorServer(spec, server, health, scheduler, coordinator.lifecycle(),
        coordinator.control(), dashboard, coordinator.metrics());
  }

  private static Set<String> sourceStages(PipelineSpec spec) {
    return spec.stages().stream()
        .filter(s -> s.role() == StageFactory.Role.SOURCE)
        .map(s -> s.name())
        .collect(Collectors.toSet());
  }

  /**
   * The checkpoint store of one pipeline, rooted at {@code <dir>/<pipeline>}: the one place the
   * coordinator makes one.
   */
  static CheckpointStore openStore(Path pipelineDir) throws IOException {
    return new DirectoryCheckpointStore(pipelineDir);
  }

  /**
   * Reads and verifies the metadata of the savepoint in {@code savepointDir}: the one place the
   * coordinator reads a savepoint. Its state handles must be resolvable by the instances, whose
   * stores are rooted at {@code <dir>/<pipeline>}.
   */
  static CheckpointMetadata readSavepoint(Path savepointDir) throws IOException {
    // The handles' uris are relative to the savepoint's parent; instances read them from there.
    return DirectoryCheckpointStore.readSavepoint(savepointDir).toBuilder()
        .setStateRoot(savepointDir.toAbsolutePath().normalize().getParent().toString())
        .build();
  }

  private static String describe(CheckpointSpec checkpoints, String pipeline) {
    return "checkpoints every " + checkpoints.interval().toMillis() + " ms, "
        + checkpoints.mode().specName() + ", to " + checkpoints.storageDir(pipeline);
  }

  /** Where the dashboard is served: {@code http://HOST:PORT/}. */
  public String dashboardUrl() {
    return dashboard.url();
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
    dashboard.close();
    metrics.close();
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
