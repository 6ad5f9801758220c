package io.sluice.runtime;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.util.MutableHandlerRegistry;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Register;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.StageReport;
import io.sluice.proto.v1.StateChange;
import io.sluice.proto.v1.WatermarkReport;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Restore;
import io.sluice.proto.v1.RestoreDone;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CheckpointStore;
import io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile;
import io.sluice.runtime.checkpoint.DirectoryCheckpointStore;
import io.sluice.runtime.internal.state.SnapshotWriter;
import io.sluice.runtime.partition.KeyGroups;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.internal.control.ControlClient;
import io.sluice.runtime.internal.exchange.ChannelPool;
import io.sluice.runtime.internal.exchange.ExchangeService;
import io.sluice.runtime.internal.exchange.ExchangeSettings;
import io.sluice.runtime.internal.metrics.ProcessMemory;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
import io.sluice.runtime.internal.sink.EgressStageFactory;
import io.sluice.runtime.internal.source.GeneratorSource;
import io.sluice.runtime.internal.source.GeneratorStageFactory;
import io.sluice.runtime.internal.source.IngestEndpoint;
import io.sluice.runtime.internal.source.WatermarkSettings;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.internal.task.OperatorRunner;
import io.sluice.runtime.internal.task.Subtask;
import io.sluice.runtime.internal.task.SubtaskState;
import io.sluice.runtime.internal.trace.ProcessSpans;
import io.sluice.runtime.internal.trace.StageTracing;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * One stage instance as an OS process: a gRPC server (data plane, health, and the ingest or egress
 * service for those types), a control stream to the coordinator, and one subtask.
 *
 * <p>Start-up: bind the server, register with the coordinator (which answers with the stage's
 * type and settings), build the operator, serve, then run until every input has ended and every
 * output acknowledged its end (a drain), or until stopped.
 *
 * <p>Threading: {@link #start} and {@link #awaitTermination} from one thread; {@link #close} from
 * any.
 */
public final class StageProcess implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StageProcess.class.getName());

  /**
   * How to start.
   *
   * @param coordinatorTarget "host:port" of the coordinator
   * @param stage the stage's name in the pipeline spec
   * @param requestedIndex the replica index to ask for; -1 lets the coordinator pick
   * @param bindHost the address to listen on
   * @param port the port to listen on; 0 picks a free one
   */
  public record Options(String coordinatorTarget, String stage, int requestedIndex, String bindHost, int port) {
    /** The host other processes reach this one at: SLUICE_ADVERTISE_HOST, else the bind host, else loopback. */
    String advertisedHost() {
      String env = System.getenv("SLUICE_ADVERTISE_HOST");
      if (env != null && !env.isBlank()) {
        return env;
      }
      if (bindHost == null || bindHost.isBlank() || bindHost.equals("0.0.0.0") || bindHost.equals("::")) {
        return "127.0.0.1";
      }
      return bindHost;
    }
  }

  private final Options options;
  // The last WatermarkReport sent; scheduler thread only.
  private long reportedWatermark = Long.MIN_VALUE;
  private boolean reportedIdle;
  private long reportedAtNanos;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sluice-control");
        t.setDaemon(true);
        return t;
      });
  private final MutableHandlerRegistry registry = new MutableHandlerRegistry();
  private final HealthStatusManager health = new HealthStatusManager();
  private final TaskMetrics metrics = new TaskMetrics();
  private final CompletableFuture<Registered> registered = new CompletableFuture<>();
  // The first task, built on the restore thread so that a Restore right after Registered waits.
  private final CompletableFuture<Void> built = new CompletableFuture<>();
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final Object routesLock = new Object();
  // @GuardedBy("routesLock"): routes that arrive before the task exists are held here.
  private RouteUpdate pendingRoutes;
  // @GuardedBy("routesLock"): what runs now; replaced by a restore.
  private Task task;
  private Server server;
  private io.sluice.runtime.internal.metrics.MetricsEndpoint metricsEndpoint;
  private ControlClient control;
  private volatile Registered registration;
  private CheckpointStore store;
  // Restores run here, one at a time, off the gRPC callback thread.
  private final java.util.concurrent.ExecutorService restorer = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "sluice-restore");
    t.setDaemon(true);
    return t;
  });
  // Snapshot files are written here, off the subtask thread.
  private final java.util.concurrent.ExecutorService snapshotWriter = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "sluice-snapshot");
    t.setDaemon(true);
    return t;
  });
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
  // Set up once, from the registration (its resource names the instance); off until then.
  private volatile StageTracing tracing = StageTracing.off();
  private volatile SubtaskState finalState;
  private volatile String failure;

  private StageProcess(Options options) {
    this.options = options;
  }

  /** Starts the instance; returns once it is registered and serving. */
  public static StageProcess start(Options options) throws IOException {
    StageProcess p = new StageProcess(options);
    p.boot();
    return p;
  }

  private void boot() throws IOException {
    ExchangeSettings defaults = ExchangeSettings.DEFAULTS;
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress(options.bindHost(), options.port()))
            // A fixed window (no BDP auto-tuning): the in-flight bytes per hop have a known bound.
            .flowControlWindow(defaults.flowControlWindow())
            .maxInboundMessageSize(defaults.maxMessageBytes())
            // Callbacks only queue frames for the subtask: no thread hop per message.
            .directExecutor()
            .addService(health.getHealthService())
            // Counts bytes read on data-plane and publish streams as the transport sees them.
            .addStreamTracerFactory(new io.grpc.ServerStreamTracer.Factory() {
              @Override
              public io.grpc.ServerStreamTracer newServerStreamTracer(String method, io.grpc.Metadata headers) {
                return new io.grpc.ServerStreamTracer() {
                  @Override
                  public void inboundWireSize(long bytes) {
                    metrics.wireBytesIn(bytes);
                  }
                };
              }
            })
            .fallbackHandlerRegistry(new StartingRegistry())
            .build()
            .start();
    health.setStatus("", ServingStatus.NOT_SERVING);
    // Prometheus metrics on a port of their own (SLUICE_METRICS_PORT, else any free one). Started
    // before registering, which must name the port; its series appear once Registered names the
    // instance (CommandHandler).
    String metricsPort = System.getenv("SLUICE_METRICS_PORT");
    metricsEndpoint = io.sluice.runtime.internal.metrics.MetricsEndpoint.start(
        options.bindHost() == null || options.bindHost().isBlank() ? "0.0.0.0" : options.bindHost(),
        metricsPort == null || metricsPort.isBlank() ? 0 : Integer.parseInt(metricsPort.trim()),
        options.stage(), metrics, this::currentWatermark);
    Register register =
        Register.newBuilder()
            .setStage(options.stage())
            .setRequestedIndex(options.requestedIndex())
            .setEndpoint(Endpoint.newBuilder().setHost(options.advertisedHost()).setPort(server.getPort()))
            .setMetricsEndpoint(Endpoint.newBuilder().setHost(options.advertisedHost()).setPort(metricsEndpoint.port()))
            .setPid(ProcessHandle.current().pid())
            .setRuntime("java")
            .build();
    control = new ControlClient(options.coordinatorTarget(), scheduler, new CommandHandler(), this::sampleMetrics);
    control.connect(register);
    Registered r;
    try {
      r = registered.get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while registering with the coordinator", e);
    } catch (ExecutionException e) {
      close();
      throw new IOException("the coordinator at " + options.coordinatorTarget() + " refused stage '"
          + options.stage() + "': " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      close();
      throw new IOException("no answer from the coordinator at " + options.coordinatorTarget()
          + " within 60 s; is it running?", e);
    }
    control.keepIndex(r.getIndex());
    control.heartbeatEvery(r.getHeartbeatIntervalMillis() > 0 ? r.getHeartbeatIntervalMillis() : 1_000);
    try {
      built.get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting", e);
    } catch (ExecutionException | TimeoutException e) {
      close();
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException("cannot start stage '" + options.stage() + "': " + cause.getMessage(), cause);
    }
    scheduler.scheduleAtFixedRate(this::reportWatermark, 200, 200, TimeUnit.MILLISECONDS);
    health.setStatus("", ServingStatus.SERVING);
    LOG.info(r.getInstanceId() + " (" + r.getStageType() + ") serving on port " + server.getPort());
  }

  /**
   * Everything one run of the stage's operator needs, at one restore epoch: mailbox, operator,
   * router and its channels, the inbound services, the subtask and its thread. A restore stops it
   * and builds the next one; the gRPC server and the control stream stay.
   */
  private final class Task {
    final long epoch;
    final Subtask subtask;
    final Thread thread;
    final ChannelPool pool;
    final ExchangeService exchange;
    final IngestEndpoint ingest;

    Task(long epoch, Subtask subtask, ChannelPool pool, ExchangeService exchange, IngestEndpoint ingest) {
      this.epoch = epoch;
      this.subtask = subtask;
      this.pool = pool;
      this.exchange = exchange;
      this.ingest = ingest;
      this.thread = new Thread(subtask, "subtask-" + subtask.instanceId() + "-e" + epoch);
    }

    /** Stops the subtask and drops every channel, in and out. */
    void stop(String reason) {
      subtask.stop(reason);
      if (exchange != null) {
        exchange.abortAll(reason);
      }
      if (ingest != null) {
        ingest.rejectAll(reason);
      }
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      pool.close();
    }
  }

  /** What a restore hands the new task: the checkpoint and the state files of its stage. */
  private record RestoreSpec(long checkpointId, List<InstanceStateFile> files, Map<String, Long> sourcePositions,
      KeyGroupRange keyGroups, int parallelism) {}

  private Task build(Registered r, long epoch, RestoreSpec restore) {
    StageConfig config = StageConfig.fromJson(options.stage(), r.getStageConfigJson(), Path.of(r.getBaseDir()))
        .withCheckpointing(r.hasCheckpoints());
    StageFactory factory = factories().get(r.getStageType());
    if (factory == null) {
      throw new IllegalStateException("no stage type '" + r.getStageType() + "' on this process's classpath; known: "
          + factories().keySet());
    }
    StageDefinition<?, ?, ?, ?> definition = factory.create(config);
    ExchangeSettings settings = ExchangeSettings.from(config);
    Mailbox mailbox = new Mailbox(System::nanoTime);
    ChannelPool pool = new ChannelPool(settings);
    OutputRouter router =
        new OutputRouter(r.getPipeline(), options.stage(), r.getInstanceId(), r.getIndex(), settings, mailbox, metrics, pool);
    router.epoch(epoch);
    OperatorRunner<?, ?, ?, ?> runner =
        newRunner(r, definition, router, mailbox);
    boolean source = factory.role() == StageFactory.Role.SOURCE;
    IngestEndpoint ingest = null;
    GeneratorSource generator = null;
    Subtask.ItemHandler sourceHandler = null;
    double maxRate = config.doubleValue("maxRate", 0);
    if (r.getStageType().equals(GeneratorStageFactory.TYPE)) {
      GeneratorStageFactory.Settings gs = GeneratorStageFactory.settings(config);
      generator = new GeneratorSource(gs, r.getInstanceId(), Clock.systemUTC(), metrics, TraceOrigin.from(config),
          ProcessSpans.create(tracing, options.stage(), r.getIndex()));
      sourceHandler = generator;
      maxRate = gs.rate();
    } else if (source) {
      ingest = new IngestEndpoint(r.getPipeline(), r.getInstanceId(), settings.credits(), mailbox,
          Clock.systemUTC(), metrics, TraceOrigin.from(config),
          ProcessSpans.create(tracing, options.stage(), r.getIndex()));
      sourceHandler = ingest;
    }
    Task[] self = new Task[1];
    Subtask sub =
        new Subtask(
            r.getInstanceId(), mailbox, runner, router, metrics, (state, reason) -> stateChanged(self[0], state, reason),
            source, sourceHandler, maxRate, source ? WatermarkSettings.from(config) : null);
    if (r.hasCheckpoints()) {
      sub.checkpoints(new SnapshotWriter(store, snapshotWriter, r, options.stage(), epoch,
          restore == null ? ownedKeyGroups(r)
              : restore.keyGroups(),
          restore == null ? r.getParallelism() : restore.parallelism(), maxParallelism(r), control::send,
          metricsEndpoint.checkpoints()));
      if (ingest != null) {
        ingest.ackOnCheckpoint();
      }
    }
    if (restore != null) {
      IngestEndpoint in = ingest;
      GeneratorSource gen = generator;
      sub.restoreBeforeStart(() -> {
        runner.restore(restore.checkpointId(), restore.files(), restore.keyGroups(), maxParallelism(r));
        if (in != null) {
          in.restore(restore.sourcePositions());
        }
        if (gen != null) {
          gen.restore(restore.sourcePositions());
        }
      });
    }
    ExchangeService exchange = null;
    if (generator != null) {
      generator.bind(sub, mailbox);
    } else if (ingest != null) {
      ingest.bind(sub);
      registry.addService(ingest);
    } else {
      exchange = new ExchangeService(r.getPipeline(), r.getInstanceId(), settings.credits(), mailbox, sub::attach, epoch);
      registry.addService(exchange);
    }
    BindableService egress = EgressStageFactory.serviceFor(runner.operator(), mailbox);
    if (egress != null) {
      registry.addService(egress);
    }
    Task t = new Task(epoch, sub, pool, exchange, ingest);
    self[0] = t;
    synchronized (routesLock) {
      task = t;
      if (pendingRoutes != null) {
        sub.applyRoutes(pendingRoutes);
        pendingRoutes = null;
      }
    }
    t.thread.start();
    return t;
  }

  /** The first task, from the registration; on the restore thread (see {@link #built}). */
  private void firstBuild(Registered r) {
    try {
      registration = r;
      if (r.hasCheckpoints()) {
        store = new DirectoryCheckpointStore(Path.of(r.getCheckpoints().getStorageDir()));
      }
      control.epoch(r.getEpoch());
      tracing = StageTracing.fromEnvironment(options.stage(), r.getInstanceId());
      build(r, r.getEpoch(), null);
      built.complete(null);
    } catch (RuntimeException | Error e) {
      built.completeExceptionally(e);
    }
  }

  /** The key groups the registration gives this instance (older coordinators leave it unset). */
  private static KeyGroupRange ownedKeyGroups(Registered r) {
    return r.hasKeyGroups() ? r.getKeyGroups()
        : KeyGroups.rangeFor(r.getIndex(), Math.max(1, r.getParallelism()), maxParallelism(r));
  }

  private static int maxParallelism(Registered r) {
    return r.getMaxParallelism() > 0 ? r.getMaxParallelism() : KeyGroups.DEFAULT_MAX_PARALLELISM;
  }

  /**
   * Restores from a checkpoint: stops the running task (dropping every channel), reads the state
   * files, builds the next task at the new epoch with that state, and answers RestoreDone. The
   * new task opens no channel until routes of its epoch arrive. On the restore thread.
   */
  private void restore(Restore cmd) {
    long epoch = cmd.getEpoch();
    long id = cmd.getCheckpointId();
    if (store == null) {
      LOG.warning("Restore from the coordinator, but this pipeline has no checkpoints; ignored");
      return;
    }
    String why = "restoring from checkpoint " + id + " at epoch " + epoch;
    long t0 = System.nanoTime();
    Task old;
    synchronized (routesLock) {
      old = task;
      task = null;
      pendingRoutes = null;
    }
    if (old != null) {
      old.stop(why);
    }
    RestoreDone.Builder done = RestoreDone.newBuilder().setEpoch(epoch).setCheckpointId(id);
    try {
      List<InstanceStateFile> files = new ArrayList<>();
      Map<String, Long> positions = new HashMap<>(cmd.getSourcePositionsMap());
      CheckpointStore from = cmd.getStateRoot().isEmpty() ? store
          : new DirectoryCheckpointStore(Path.of(cmd.getStateRoot()));
      for (StateHandle h : cmd.getStateList()) {
        InstanceStateFile f = from.readState(h);
        files.add(f);
        f.operatorState().getSourcePositionsMap().forEach((p, seq) -> positions.merge(p, seq, Math::max));
      }
      Registered r = registration;
      KeyGroupRange range = cmd.hasKeyGroups() ? cmd.getKeyGroups()
          : ownedKeyGroups(r);
      int parallelism = cmd.getParallelism() > 0 ? cmd.getParallelism() : r.getParallelism();
      build(r, epoch, id == 0 ? null : new RestoreSpec(id, files, positions, range, parallelism));
      LOG.info(r.getInstanceId() + ": " + why + " took " + (System.nanoTime() - t0) / 1_000_000 + " ms ("
          + files.size() + " state files)");
    } catch (IOException | RuntimeException e) {
      LOG.log(java.util.logging.Level.WARNING, registration.getInstanceId() + ": " + why + " failed", e);
      done.setError(e.getMessage() == null ? e.toString() : e.getMessage());
    }
    control.send(StageReport.newBuilder().setRestored(done).build());
  }

  /** The running subtask's watermark, for the metrics endpoint; MIN_VALUE while none runs. */
  private long currentWatermark() {
    synchronized (routesLock) {
      return task == null ? Long.MIN_VALUE : task.subtask.watermark();
    }
  }

  /** Tells the coordinator the subtask's watermark when it changed, and at least once a second. */
  private void reportWatermark() {
    Task t;
    synchronized (routesLock) {
      t = task;
    }
    if (t == null) {
      return;
    }
    long w = t.subtask.watermark();
    boolean idle = t.subtask.idle();
    long now = System.nanoTime();
    if (w == reportedWatermark && idle == reportedIdle && now - reportedAtNanos < 1_000_000_000L) {
      return;
    }
    reportedWatermark = w;
    reportedIdle = idle;
    reportedAtNanos = now;
    control.send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(w).setIdle(idle))
        .build());
  }

  private <KIn, VIn, KOut, VOut> OperatorRunner<KIn, VIn, KOut, VOut> newRunner(
      Registered r, StageDefinition<KIn, VIn, KOut, VOut> definition, OutputRouter router, Mailbox mailbox) {
    return new OperatorRunner<>(
        options.stage(), r.getInstanceId(), r.getIndex(), definition, router, mailbox, Clock.systemUTC(), metrics,
        tracing);
  }

  /** Every stage type on the classpath, by type name. */
  public static Map<String, StageFactory> factories() {
    Map<String, StageFactory> m = new TreeMap<>();
    for (StageFactory f : ServiceLoader.load(StageFactory.class)) {
      m.put(f.type(), f);
    }
    return m;
  }

  private void stateChanged(Task from, SubtaskState state, String reason) {
    synchronized (routesLock) {
      if (from != task) {
        return; // a task a restore stopped or replaced: its end is not the instance's
      }
    }
    InstanceState reported = switch (state) {
      case CREATED, RUNNING -> InstanceState.INSTANCE_STATE_RUNNING;
      case CLOSING -> InstanceState.INSTANCE_STATE_DRAINING;
      case FINISHED -> InstanceState.INSTANCE_STATE_FINISHED;
      case STOPPED -> InstanceState.INSTANCE_STATE_DEAD;
    };
    control.send(StageReport.newBuilder().setMetrics(sampleMetrics()).build());
    control.send(StageReport.newBuilder()
        .setState(StateChange.newBuilder().setState(reported).setReason(reason))
        .build());
    if (state == SubtaskState.FINISHED || state == SubtaskState.STOPPED) {
      finalState = state;
      terminated.countDown();
    }
  }

  private InstanceMetrics sampleMetrics() {
    return InstanceMetrics.newBuilder()
        .setRecordsIn(metrics.recordsIn())
        .setRecordsOut(metrics.recordsOut())
        .setBytesIn(metrics.bytesIn())
        .setBytesOut(metrics.bytesOut())
        .setDeadLetters(metrics.deadLetters())
        .setBusyMillis(metrics.busyMillis())
        .setBackpressuredMillis(metrics.backpressuredMillis())
        .setIdleMillis(metrics.idleMillis())
        .setInboxDepth(metrics.inboxDepth())
        .setSampledAtMillis(System.currentTimeMillis())
        .setHeapUsedBytes(ProcessMemory.heapUsed())
        .setDirectUsedBytes(ProcessMemory.directUsed())
        .setRssBytes(ProcessMemory.rss())
        .build();
  }

  /** The port the gRPC server listens on. */
  public int port() {
    return server.getPort();
  }

  /**
   * Blocks until the instance finished (every input ended, every output acknowledged) or stopped.
   *
   * @return 0 after a clean finish, 1 otherwise
   */
  public int awaitTermination() throws InterruptedException {
    terminated.await();
    close();
    return finalState == SubtaskState.FINISHED && failure == null ? 0 : 1;
  }

  @Override
  public void close() {
    // Both awaitTermination() and a shutdown hook may close; the first does the work.
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    health.enterTerminalState();
    Task t;
    synchronized (routesLock) {
      t = task;
    }
    if (t != null && t.exchange != null) {
      t.exchange.shutdown();
    }
    if (t != null && finalState == null) {
      t.subtask.stop("process closing");
    }
    restorer.shutdownNow();
    if (control != null) {
      control.close();
    }
    if (server != null) {
      server.shutdown();
      try {
        if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
          server.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        server.shutdownNow();
      }
    }
    if (t != null) {
      t.pool.close();
    }
    scheduler.shutdownNow();
    snapshotWriter.shutdown();
    tracing.close(); // after the subtask's last span: exports what the batch processor holds
    if (metricsEndpoint != null) {
      metricsEndpoint.close();
    }
    terminated.countDown();
  }

  /** Commands from the coordinator, on gRPC's executor: hand them to the subtask. */
  private final class CommandHandler implements ControlClient.Handler {
    @Override
    public void onCommand(Command c) {
      switch (c.getKindCase()) {
        case REGISTERED -> {
          // Every time, before anything can checkpoint: the registered id labels the metrics (the
          // same id again after a reconnect, since the process asks for its index again).
          metricsEndpoint.identify(c.getRegistered().getInstanceId());
          // Once: a Registered after a reconnect (coordinator restart) changes nothing else here.
          if (registered.complete(c.getRegistered())) {
            restorer.execute(() -> firstBuild(c.getRegistered()));
          }
        }
        case ROUTES -> {
          synchronized (routesLock) {
            if (task == null) {
              pendingRoutes = c.getRoutes();
            } else {
              task.subtask.applyRoutes(c.getRoutes());
            }
          }
        }
        case TRIGGER_CHECKPOINT -> withSubtask(s -> s.triggerCheckpoint(
            c.getTriggerCheckpoint().getCheckpointId(), c.getTriggerCheckpoint().getTimestamp(),
            c.getTriggerCheckpoint().getSavepoint()));
        case COMPLETE_CHECKPOINT -> withSubtask(s -> s.checkpointComplete(c.getCompleteCheckpoint().getCheckpointId()));
        case ABORT_CHECKPOINT -> withSubtask(s -> s.abortCheckpoint(
            c.getAbortCheckpoint().getCheckpointId(), c.getAbortCheckpoint().getReason()));
        case RESTORE -> {
          control.epoch(c.getRestore().getEpoch());
          restorer.execute(() -> restore(c.getRestore()));
        }
        case DRAIN -> withSubtask(s -> s.drain(c.getDrain().getReason()));
        case ALIGN_WATERMARKS ->
            withSubtask(s -> s.alignTo(c.getAlignWatermarks().getSlowestSourceWatermark()));
        case SET_MAX_RATE -> withSubtask(s -> s.setMaxRate(c.getSetMaxRate().getEventsPerSecond()));
        case STOP -> withSubtask(s -> s.stop("stopped by the coordinator: " + c.getStop().getReason()));
        default -> LOG.fine("command not handled yet: " + c.getKindCase());
      }
    }

    @Override
    public void onDisconnected(Status status) {
      if (!registered.isDone()) {
        registered.completeExceptionally(status.asRuntimeException());
      }
    }

    private void withSubtask(java.util.function.Consumer<Subtask> action) {
      Task t;
      synchronized (routesLock) {
        t = task;
      }
      if (t != null) {
        action.accept(t.subtask);
      }
    }
  }

  /**
   * The services {@link #build} registers, and before the first build an UNAVAILABLE answer to
   * every other call: a client that reaches a starting (or restarted) stage then retries, where
   * UNIMPLEMENTED would tell it the service does not exist. Once built, an unknown method is
   * UNIMPLEMENTED as usual.
   */
  private final class StartingRegistry extends io.grpc.HandlerRegistry {
    @Override
    public io.grpc.ServerMethodDefinition<?, ?> lookupMethod(String method, String authority) {
      io.grpc.ServerMethodDefinition<?, ?> found = registry.lookupMethod(method, authority);
      if (found != null || built.isDone()) {
        return found;
      }
      io.grpc.MethodDescriptor<java.io.InputStream, java.io.InputStream> descriptor =
          io.grpc.MethodDescriptor.<java.io.InputStream, java.io.InputStream>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNKNOWN)
              .setFullMethodName(method)
              .setRequestMarshaller(RawBytes.INSTANCE)
              .setResponseMarshaller(RawBytes.INSTANCE)
              .build();
      return io.grpc.ServerMethodDefinition.create(descriptor, (call, headers) -> {
        call.close(io.grpc.Status.UNAVAILABLE.withDescription(
            "stage " + options.stage() + " is starting and does not serve " + method + " yet; retry"),
            new io.grpc.Metadata());
        return new io.grpc.ServerCall.Listener<>() {};
      });
    }
  }

  /** Leaves a call's messages as streams: the starting answer never reads them. */
  private enum RawBytes implements io.grpc.MethodDescriptor.Marshaller<java.io.InputStream> {
    INSTANCE;

    @Override
    public java.io.InputStream stream(java.io.InputStream value) {
      return value;
    }

    @Override
    public java.io.InputStream parse(java.io.InputStream stream) {
      return stream;
    }
  }
}
