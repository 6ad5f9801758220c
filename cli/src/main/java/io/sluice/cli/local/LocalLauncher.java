package io.sluice.cli.local;

import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.sluice.cli.Main;
import io.sluice.cli.grpc.Channels;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.SpecException;
import io.sluice.coordinator.spec.SpecLoader;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.DrainRequest;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.PipelineStatus;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Runs a pipeline on this machine the way Kubernetes runs it in production: the coordinator and
 * every stage replica as separate OS processes on loopback, each a JVM running {@link Main} with
 * the {@code coordinator} or {@code stage} sub-command and this JVM's class path.
 *
 * <p>Life cycle: {@link Builder#build()} validates the spec (nothing starts on a bad spec); {@link
 * #start()} starts the coordinator, waits until it answers {@code AdminService.GetStatus}, then
 * starts every replica; {@link #drainAndWait} asks the coordinator to drain and waits for every
 * process to exit; {@link #close()} stops whatever is still running. Each process writes its output
 * to {@code <logDir>/<instance>.log}; children also exit on their own when this JVM dies (they
 * watch its pid), so a crashed test leaves no processes behind.
 *
 * <p>Supervision: like Kubernetes restarting a pod, a stage process that dies while the pipeline
 * runs (killed, or a non-zero exit) is started again with the same stage and index, its log
 * appended to, after a backoff of 200 ms doubling to 5 s (reset once a process has run for 30 s);
 * it registers again and the coordinator restores it. Never after a clean exit (0: the replica
 * finished), once {@link #drainAndWait} or {@link #close()} has begun, or when the coordinator has
 * exited. {@link Builder#restartStages(boolean)} turns it off; {@link #restarts} is the history.
 *
 * <p>Used by {@code sluice up}, {@code sluice demo}, integration tests and the benchmark harness.
 * Thread-safe: all methods may be called from any thread (one lock guards the process table).
 */
public final class LocalLauncher implements AutoCloseable {
  /**
   * Small heaps and the serial collector: a laptop runs many of these JVMs side by side, and each
   * holds little state. Netty's direct memory is capped too, since unsent data sits there. OOM
   * exits the process so the coordinator sees a dead instance rather than a limping one.
   */
  public static final List<String> DEFAULT_JVM_OPTIONS =
      List.of(
          "-Xms32m",
          "-Xmx256m",
          "-XX:MaxDirectMemorySize=256m",
          "-XX:+UseSerialGC",
          "-XX:+ExitOnOutOfMemoryError");

  /** Loopback, as an address rather than "localhost", so no resolver picks ::1 for one side. */
  public static final String LOOPBACK = "127.0.0.1";

  private static final boolean POSIX =
      !System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows")
          && Files.isExecutable(Path.of("/bin/sh"));
  private static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final PipelineSpec spec;
  private final Path specFile;
  private final int requestedCoordinatorPort;
  private final Path logDir;
  private final List<String> jvmOptions;
  private final List<String> coordinatorJvmOptions;
  private final Map<String, List<String>> stageJvmOptions;
  private final Map<String, String> environment;
  private final String javaCommand;
  private final String classPath;
  private final Duration startTimeout;
  private final boolean restartStages;
  private final Consumer<StageRestart> restartListener;
  private final Path fromSavepoint;
  private final ScheduledExecutorService restartTimer;

  private final Object lock = new Object();
  // @GuardedBy("lock"): instance name -> the process most recently started under it.
  private final Map<String, LocalProcess> processes = new LinkedHashMap<>();
  // @GuardedBy("lock")
  private int coordinatorPort;
  // @GuardedBy("lock")
  private ManagedChannel coordinatorChannel;
  // @GuardedBy("lock")
  private boolean closed;
  // @GuardedBy("lock"): a drain or close has begun: restart nothing from now on.
  private boolean stopping;
  // @GuardedBy("lock"): stage instance name -> its restart bookkeeping.
  private final Map<String, Supervision> supervision = new HashMap<>();
  // @GuardedBy("lock"): every restart, in order.
  private final List<StageRestart> restarts = new ArrayList<>();

  /** Restart bookkeeping of one stage instance; guarded by the launcher's lock. */
  private static final class Supervision {
    final RestartBackoff backoff = new RestartBackoff();
    long startedNanos;
  }

  private LocalLauncher(Builder b, PipelineSpec spec) {
    this.spec = spec;
    this.specFile = b.spec;
    this.requestedCoordinatorPort =
        b.coordinatorPort >= 0 ? b.coordinatorPort : spec.coordinatorPort();
    this.logDir =
        b.logDir != null
            ? b.logDir.toAbsolutePath()
            : specFile.getParent().resolve(".sluice").resolve("logs");
    this.jvmOptions = List.copyOf(b.jvmOptions);
    this.coordinatorJvmOptions =
        b.coordinatorJvmOptions != null ? List.copyOf(b.coordinatorJvmOptions) : this.jvmOptions;
    this.stageJvmOptions = Map.copyOf(b.stageJvmOptions);
    this.environment = Map.copyOf(b.environment);
    this.javaCommand = b.javaCommand;
    this.classPath = b.classPath;
    this.startTimeout = b.startTimeout;
    this.restartStages = b.restartStages;
    this.restartListener = b.restartListener;
    this.fromSavepoint = b.fromSavepoint;
    this.restartTimer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "sluice-launcher-restarts");
              t.setDaemon(true);
              return t;
            });
  }

  /** A builder for a launcher of the pipeline in {@code specFile}. */
  public static Builder builder(Path specFile) {
    return new Builder(specFile);
  }

  /**
   * Reads and validates a spec without starting anything.
   *
   * @throws SpecException listing every problem, each with its line and stage
   */
  public static PipelineSpec validate(Path specFile) throws IOException, SpecException {
    return SpecLoader.load(specFile);
  }

  /** The validated spec. */
  public PipelineSpec spec() {
    return spec;
  }

  /** The folder the processes' logs go to. */
  public Path logDir() {
    return logDir;
  }

  /**
   * Starts the coordinator, waits until it serves, then starts every stage replica the spec asks
   * for. Returns once all processes are started (not necessarily registered: see {@link
   * #awaitState}).
   *
   * @throws IOException when a process cannot be started
   * @throws TimeoutException when the coordinator does not serve within the start timeout; its log
   *     is named in the message
   */
  public void start() throws IOException, InterruptedException, TimeoutException {
    Files.createDirectories(logDir);
    Path portFile = logDir.resolve("coordinator.port");
    Files.deleteIfExists(portFile);
    LocalProcess coordinator =
        launch(
            LocalProcess.COORDINATOR,
            "",
            -1,
            coordinatorJvmOptions,
            coordinatorArgs(portFile),
            null);

    int port = awaitPortFile(coordinator, portFile);
    ManagedChannel channel = Channels.open(HostAndPort.fromParts(LOOPBACK, port));
    synchronized (lock) {
      coordinatorPort = port;
      coordinatorChannel = channel;
    }
    awaitServing(coordinator, channel);

    for (StageSpec stage : spec.stages()) {
      for (int i = 0; i < stage.replicas(); i++) {
        startReplica(stage.name(), i);
      }
    }
  }

  /** The coordinator's command line after the class name: {@code coordinator --spec …}. */
  List<String> coordinatorArgs(Path portFile) {
    List<String> args = new ArrayList<>();
    args.add("coordinator");
    args.add("--spec");
    args.add(specFile.toString());
    args.add("--port");
    args.add(Integer.toString(requestedCoordinatorPort));
    args.add("--bind");
    args.add(LOOPBACK);
    args.add("--port-file");
    args.add(portFile.toString());
    if (fromSavepoint != null) {
      args.add("--from-savepoint");
      args.add(fromSavepoint.toString());
    }
    return args;
  }

  /**
   * Starts one more process for a replica of {@code stage} (after a {@link #kill} when restarts
   * are off, or to scale out after {@code AdminService.Scale}). If the spec gives the stage a port,
   * the replica listens on {@code port + index}.
   *
   * @throws IllegalArgumentException when the pipeline has no such stage
   * @throws IllegalStateException before {@link #start()}, or when that replica is running
   */
  public LocalProcess startReplica(String stage, int index) throws IOException {
    return startReplica(stage, index, null);
  }

  /**
   * @param replacing the dead process a restart replaces; the start is skipped (null returned)
   *     when it is no longer the instance's current process or the launcher is stopping
   */
  private LocalProcess startReplica(String stage, int index, LocalProcess replacing)
      throws IOException {
    StageSpec s =
        spec.stage(stage)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "pipeline '"
                            + spec.name()
                            + "' has no stage '"
                            + stage
                            + "'; it has "
                            + spec.stageNames()));
    if (index < 0) {
      throw new IllegalArgumentException("replica index must be >= 0, got " + index);
    }
    String instance = LocalProcess.instanceName(stage, index);
    List<String> args = new ArrayList<>();
    args.add("stage");
    args.add("--coordinator");
    args.add(coordinatorAddress().toString());
    args.add("--stage");
    args.add(stage);
    args.add("--index");
    args.add(Integer.toString(index));
    args.add("--bind");
    args.add(LOOPBACK);
    if (s.port() > 0) {
      args.add("--port");
      args.add(Integer.toString(s.port() + index));
    }
    synchronized (lock) {
      LocalProcess running = processes.get(instance);
      if (replacing == null && running != null && running.isAlive()) {
        throw new IllegalStateException(
            instance + " is already running (pid " + running.pid() + ")");
      }
    }
    return launch(
        instance, stage, index, stageJvmOptions.getOrDefault(stage, jvmOptions), args, replacing);
  }

  private LocalProcess launch(
      String instance,
      String stage,
      int index,
      List<String> options,
      List<String> args,
      LocalProcess replacing)
      throws IOException {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the launcher is closed");
      }
      if (replacing != null && !mayRestartLocked(replacing)) {
        return null; // checked again under the lock the start happens under
      }
      List<String> command = new ArrayList<>();
      if (POSIX) {
        // Ctrl-C in a terminal signals the whole process group, children included. They must
        // not stop on it: the launcher drains them through the coordinator instead. A JVM that
        // starts with SIGINT ignored leaves it ignored (as under nohup), and exec keeps it so;
        // SIGTERM still runs their shutdown hooks.
        command.add("/bin/sh");
        command.add("-c");
        command.add("trap '' INT; exec \"$@\"");
        command.add("sluice-" + instance); // $0
      }
      command.add(javaCommand);
      command.addAll(options);
      // Visible in `ps`, so a human can tell the JVMs apart.
      command.add("-Dsluice.instance=" + instance);
      command.add("-cp");
      command.add(classPath);
      command.add(Main.class.getName());
      command.addAll(args);
      command.add("--exit-with-parent");
      command.add(Long.toString(ProcessHandle.current().pid()));

      Path log = logDir.resolve(instance + ".log");
      Files.createDirectories(logDir);
      // Appended, with a header, so a restarted replica keeps its predecessor's log above it.
      Files.writeString(
          log,
          "=== " + Instant.now() + " starting " + instance + ": " + String.join(" ", args) + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .directory(specFile.getParent().toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().putAll(environment);
      LocalProcess p = new LocalProcess(instance, stage, index, pb.start(), log);
      processes.put(instance, p);
      if (!p.isCoordinator()) {
        supervision.computeIfAbsent(instance, k -> new Supervision()).startedNanos =
            System.nanoTime();
        // Runs on the JDK's process reaper thread: only bookkeeping and scheduling, no waiting.
        p.process().onExit().thenRun(() -> stageExited(p));
      }
      return p;
    }
  }

  /** Whether {@code dead} should be replaced now. Under the lock. */
  private boolean mayRestartLocked(LocalProcess dead) {
    LocalProcess coordinator = processes.get(LocalProcess.COORDINATOR);
    return restartStages
        && !closed
        && !stopping
        // Replaced meanwhile (startReplica after a kill): not ours to restart.
        && processes.get(dead.instance()) == dead
        // Without a coordinator a stage cannot register; the pipeline is over.
        && coordinator != null
        && coordinator.isAlive();
  }

  /** A stage process ended: schedules its restart when it died while the pipeline runs. */
  private void stageExited(LocalProcess dead) {
    int code = dead.process().exitValue();
    synchronized (lock) {
      if (code == 0 || !mayRestartLocked(dead)) {
        return; // finished cleanly, or nothing to restart
      }
      Supervision s = supervision.get(dead.instance());
      Duration uptime = Duration.ofNanos(System.nanoTime() - s.startedNanos);
      Duration delay = s.backoff.delayAfter(uptime);
      try {
        restartTimer.schedule(
            () -> restart(dead, code, uptime, delay), delay.toMillis(), TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // closing: the timer is shut down
      }
    }
  }

  private void restart(LocalProcess dead, int exitCode, Duration uptime, Duration delay) {
    LocalProcess fresh;
    String error = "";
    try {
      fresh = startReplica(dead.stage(), dead.index(), dead);
      if (fresh == null) {
        return; // stopping, or replaced meanwhile
      }
    } catch (IOException | RuntimeException e) {
      synchronized (lock) {
        if (closed || stopping) {
          return;
        }
      }
      fresh = null;
      error = String.valueOf(e.getMessage());
    }
    StageRestart r =
        new StageRestart(
            dead.instance(),
            dead.stage(),
            dead.index(),
            dead.pid(),
            exitCode,
            uptime,
            delay,
            fresh == null ? 0 : fresh.pid(),
            Instant.now(),
            error);
    synchronized (lock) {
      restarts.add(r);
    }
    try {
      restartListener.accept(r);
    } catch (RuntimeException e) {
      // a listener's failure must not stop supervision
    }
    if (fresh == null) {
      // Could not even start it: try again after the next backoff, as after a quick death.
      synchronized (lock) {
        if (!mayRestartLocked(dead)) {
          return;
        }
        Duration next = supervision.get(dead.instance()).backoff.delayAfter(Duration.ZERO);
        try {
          restartTimer.schedule(
              () -> restart(dead, exitCode, Duration.ZERO, next),
              next.toMillis(),
              TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
          // closing
        }
      }
    }
  }

  /** Every restart of a stage process so far, in order (tests, the status output). */
  public List<StageRestart> restarts() {
    synchronized (lock) {
      return List.copyOf(restarts);
    }
  }

  /** The restarts of one instance ({@code <stage>-<index>}), in order. */
  public List<StageRestart> restarts(String instance) {
    synchronized (lock) {
      return restarts.stream().filter(r -> r.instance().equals(instance)).toList();
    }
  }

  private int awaitPortFile(LocalProcess coordinator, Path portFile)
      throws IOException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    while (true) {
      if (Files.exists(portFile)) {
        String text = Files.readString(portFile, StandardCharsets.UTF_8).trim();
        if (!text.isEmpty()) {
          return Integer.parseInt(text);
        }
      }
      checkAlive(coordinator);
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(
            "the coordinator did not start listening within "
                + startTimeout.toSeconds()
                + " s; see "
                + coordinator.log());
      }
      Thread.sleep(50); // polling a file the child writes once; no callback to wait on
    }
  }

  private void awaitServing(LocalProcess coordinator, ManagedChannel channel)
      throws InterruptedException, TimeoutException, IOException {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    AdminServiceGrpc.AdminServiceBlockingStub admin = AdminServiceGrpc.newBlockingStub(channel);
    StatusRuntimeException last = null;
    while (System.nanoTime() < deadline) {
      checkAlive(coordinator);
      try {
        admin
            .withDeadlineAfter(2, TimeUnit.SECONDS)
            .getStatus(GetStatusRequest.getDefaultInstance());
        return;
      } catch (StatusRuntimeException e) {
        last = e;
      }
      Thread.sleep(100);
    }
    throw new TimeoutException(
        "the coordinator did not answer GetStatus within "
            + startTimeout.toSeconds()
            + " s ("
            + (last == null ? "no answer" : last.getStatus())
            + "); see "
            + coordinator.log());
  }

  private static void checkAlive(LocalProcess p) throws IOException {
    if (!p.isAlive()) {
      throw new IOException(
          p.instance()
              + " exited with code "
              + p.process().exitValue()
              + " while starting; see "
              + p.log()
              + tail(p.log(), 15));
    }
  }

  /** The last lines of a log, indented, for error messages. */
  static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      List<String> last = all.subList(Math.max(0, all.size() - lines), all.size());
      return last.isEmpty() ? "" : "\n  " + String.join("\n  ", last);
    } catch (IOException | RuntimeException e) {
      return ""; // the message still names the log file
    }
  }

  /** Where the coordinator listens; known once {@link #start()} has seen it serve. */
  public HostAndPort coordinatorAddress() {
    synchronized (lock) {
      if (coordinatorPort == 0) {
        throw new IllegalStateException("the coordinator is not started yet; call start() first");
      }
      return HostAndPort.fromParts(LOOPBACK, coordinatorPort);
    }
  }

  /** A channel to the coordinator, owned by the launcher (closed by {@link #close()}). */
  public ManagedChannel coordinatorChannel() {
    synchronized (lock) {
      if (coordinatorChannel == null) {
        throw new IllegalStateException("the coordinator is not started yet; call start() first");
      }
      return coordinatorChannel;
    }
  }

  /** The coordinator's current status (a GetStatus call with a 10 s deadline). */
  public PipelineStatus status() {
    return AdminServiceGrpc.newBlockingStub(coordinatorChannel())
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance());
  }

  /**
   * Polls the status until {@code condition} holds.
   *
   * @return the status that satisfied it
   * @throws TimeoutException when it does not hold within {@code timeout}; the message has the last
   *     status seen
   */
  public PipelineStatus awaitStatus(Predicate<PipelineStatus> condition, Duration timeout)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    PipelineStatus last = null;
    StatusRuntimeException lastError = null;
    while (true) {
      try {
        last = status();
        if (condition.test(last)) {
          return last;
        }
      } catch (StatusRuntimeException e) {
        lastError = e;
      }
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(
            "pipeline '"
                + spec.name()
                + "' did not reach the expected state within "
                + timeout.toSeconds()
                + " s; last status: "
                + (last != null ? summary(last) : String.valueOf(lastError))
                + "; logs in "
                + logDir);
      }
      Thread.sleep(100);
    }
  }

  /** Waits until the pipeline reports {@code state} (e.g. "running"). */
  public PipelineStatus awaitState(String state, Duration timeout)
      throws InterruptedException, TimeoutException {
    return awaitStatus(s -> s.getState().equals(state), timeout);
  }

  /** A one-line summary of a status: state and running/desired instances per stage. */
  public static String summary(PipelineStatus s) {
    return s.getState()
        + " "
        + s.getStagesList().stream()
            .map(
                st ->
                    st.getName()
                        + " "
                        + st.getInstancesList().stream()
                            .filter(
                                i ->
                                    i.getState()
                                        == io.sluice.proto.v1.InstanceState.INSTANCE_STATE_RUNNING)
                            .count()
                        + "/"
                        + st.getDesiredParallelism())
            .collect(Collectors.joining(", "));
  }

  /** Every process started so far (live or exited), in start order; restarted ones once. */
  public List<LocalProcess> processes() {
    synchronized (lock) {
      return List.copyOf(processes.values());
    }
  }

  /** The process most recently started as {@code instance}. */
  public Optional<LocalProcess> process(String instance) {
    synchronized (lock) {
      return Optional.ofNullable(processes.get(instance));
    }
  }

  /**
   * Kills a process at once ({@code kill -9}): no shutdown hooks, no drain; a crash as far as the
   * pipeline can tell. A stage process is then restarted like any that dies, unless restarts are
   * off ({@link Builder#restartStages(boolean)}).
   *
   * @return whether the process was alive
   * @throws IllegalArgumentException when no process has that instance name
   */
  public boolean kill(String instance) throws InterruptedException {
    LocalProcess p =
        process(instance)
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "no process named '" + instance + "'; running: " + names(processes())));
    boolean alive = p.isAlive();
    p.process().destroyForcibly();
    p.process().waitFor();
    return alive;
  }

  /**
   * Starts the coordinator again after it died (or was {@link #kill killed}), on the port it had,
   * so the stage processes, which keep running and reconnect, find it. Waits until it serves.
   *
   * @throws IllegalStateException while the coordinator is still alive
   */
  public void restartCoordinator() throws IOException, InterruptedException, TimeoutException {
    int port;
    synchronized (lock) {
      LocalProcess old = processes.get(LocalProcess.COORDINATOR);
      if (old != null && old.isAlive()) {
        throw new IllegalStateException("the coordinator (pid " + old.pid() + ") is still running");
      }
      port = coordinatorPort;
    }
    Path portFile = logDir.resolve("coordinator.port");
    Files.deleteIfExists(portFile);
    List<String> args = coordinatorArgs(portFile);
    // The same port as before: the stages reconnect to the address they were given.
    args.set(args.indexOf("--port") + 1, Integer.toString(port));
    int savepoint = args.indexOf("--from-savepoint");
    if (savepoint >= 0) {
      // A restarted coordinator resumes from the newest checkpoint, not from where the run began.
      args.remove(savepoint + 1);
      args.remove(savepoint);
    }
    LocalProcess coordinator = launch(LocalProcess.COORDINATOR, "", -1, coordinatorJvmOptions, args, null);
    awaitPortFile(coordinator, portFile);
    ManagedChannel channel;
    synchronized (lock) {
      channel = coordinatorChannel;
    }
    awaitServing(coordinator, channel);
  }

  private static List<String> names(Collection<LocalProcess> ps) {
    return ps.stream().map(LocalProcess::instance).toList();
  }

  /**
   * Asks the coordinator to drain the pipeline ({@code AdminService.Drain}) and waits for every
   * process to exit. Processes still running at the deadline (or all of them, when the coordinator
   * cannot be reached) are stopped with SIGTERM, then killed.
   *
   * @return true when every process exited by itself within {@code timeout}
   */
  public boolean drainAndWait(Duration timeout) throws InterruptedException {
    synchronized (lock) {
      stopping = true; // stages exiting from here on are not restarted
    }
    boolean drainAsked;
    try {
      AdminServiceGrpc.newBlockingStub(coordinatorChannel())
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .drain(DrainRequest.newBuilder().setReason("stopped by the local launcher").build());
      drainAsked = true;
    } catch (StatusRuntimeException | IllegalStateException e) {
      drainAsked = false;
    }
    boolean clean = drainAsked && awaitExit(processes(), timeout);
    if (!clean) {
      stopAll();
    }
    return clean;
  }

  /**
   * Waits for the processes to exit by themselves (e.g. after the pipeline finished).
   *
   * @return whether all exited within {@code timeout}
   */
  public boolean awaitExit(Collection<LocalProcess> ps, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (LocalProcess p : ps) {
      long left = deadline - System.nanoTime();
      if (!p.process().waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }

  /** Exit codes of the processes that have exited, by instance name. */
  public Map<String, Integer> exitCodes() {
    Map<String, Integer> codes = new LinkedHashMap<>();
    for (LocalProcess p : processes()) {
      if (!p.isAlive()) {
        codes.put(p.instance(), p.process().exitValue());
      }
    }
    return codes;
  }

  /** SIGTERM to every live process (stages first), then SIGKILL to those that linger. */
  private void stopAll() throws InterruptedException {
    List<LocalProcess> ps = new ArrayList<>(processes());
    // Stages before the coordinator, so they do not report a lost coordinator as an error.
    ps.sort((a, b) -> Boolean.compare(a.isCoordinator(), b.isCoordinator()));
    for (LocalProcess p : ps) {
      if (p.isAlive()) {
        p.process().destroy();
      }
    }
    long deadline = System.nanoTime() + STOP_GRACE.toNanos();
    for (LocalProcess p : ps) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !p.process().waitFor(left, TimeUnit.NANOSECONDS)) {
        p.process().destroyForcibly();
      }
    }
    for (LocalProcess p : ps) {
      p.process().waitFor(5, TimeUnit.SECONDS);
    }
  }

  /** Stops every process still running (SIGTERM, then SIGKILL) and closes the channel. */
  @Override
  public void close() {
    ManagedChannel channel;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      stopping = true;
      channel = coordinatorChannel;
    }
    restartTimer.shutdownNow();
    try {
      stopAll();
    } catch (InterruptedException e) {
      for (LocalProcess p : processes()) {
        p.process().destroyForcibly();
      }
      Thread.currentThread().interrupt();
    } finally {
      if (channel != null) {
        Channels.close(channel);
      }
    }
  }

  /** Configures a {@link LocalLauncher}. Not thread-safe; build once. */
  public static final class Builder {
    private final Path spec;
    private int coordinatorPort = -1;
    private Path logDir;
    private List<String> jvmOptions = DEFAULT_JVM_OPTIONS;
    private List<String> coordinatorJvmOptions;
    private final Map<String, List<String>> stageJvmOptions = new HashMap<>();
    private final Map<String, String> environment = new HashMap<>();
    private String javaCommand = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private String classPath = absoluteClassPath(System.getProperty("java.class.path"));
    private Duration startTimeout = DEFAULT_START_TIMEOUT;
    private boolean restartStages = true;
    private Consumer<StageRestart> restartListener = r -> {};
    private Path fromSavepoint;

    private Builder(Path spec) {
      this.spec = spec.toAbsolutePath().normalize();
    }

    /**
     * The coordinator's port: the spec's ({@code coordinator: {port}}) unless set here; 0 lets the
     * coordinator pick a free one (tests, the demo), which {@link #coordinatorAddress()} then
     * reports.
     */
    public Builder coordinatorPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in 0..65535, got " + port);
      }
      this.coordinatorPort = port;
      return this;
    }

    /** Where logs go; default {@code .sluice/logs} beside the spec. */
    public Builder logDir(Path dir) {
      this.logDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** JVM options of every process (default {@link #DEFAULT_JVM_OPTIONS}). */
    public Builder jvmOptions(List<String> options) {
      this.jvmOptions = List.copyOf(options);
      return this;
    }

    /** JVM options of the coordinator only (default: those of {@link #jvmOptions}). */
    public Builder coordinatorJvmOptions(List<String> options) {
      this.coordinatorJvmOptions = List.copyOf(options);
      return this;
    }

    /** JVM options of one stage's replicas (default: those of {@link #jvmOptions}). */
    public Builder stageJvmOptions(String stage, List<String> options) {
      this.stageJvmOptions.put(stage, List.copyOf(options));
      return this;
    }

    /** An environment variable for every process (e.g. {@code OTEL_*}). */
    public Builder environment(String name, String value) {
      this.environment.put(name, value);
      return this;
    }

    /** The java executable; default this JVM's. */
    public Builder javaCommand(String java) {
      this.javaCommand = Objects.requireNonNull(java, "java");
      return this;
    }

    /** The children's class path; default this JVM's, made absolute. */
    public Builder classPath(String classPath) {
      this.classPath = Objects.requireNonNull(classPath, "classPath");
      return this;
    }

    /** How long {@link #start()} waits for the coordinator to serve (default 60 s). */
    public Builder startTimeout(Duration timeout) {
      this.startTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * Whether a stage process that dies while the pipeline runs is started again (default true),
     * as Kubernetes restarts a pod. Tests that watch a dead instance stay dead turn it off.
     */
    public Builder restartStages(boolean restart) {
      this.restartStages = restart;
      return this;
    }

    /**
     * Called after each restart of a stage process (or failed attempt), on the launcher's restart
     * thread; {@code sluice up} prints a line. Must not block.
     */
    public Builder onRestart(Consumer<StageRestart> listener) {
      this.restartListener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Start the pipeline from a savepoint: passes {@code --from-savepoint <absolute dir>} to the
     * coordinator, which restores every stage from it. The folder must exist ({@link #build()}
     * checks).
     */
    public Builder fromSavepoint(Path dir) {
      this.fromSavepoint = Objects.requireNonNull(dir, "dir").toAbsolutePath().normalize();
      return this;
    }

    /**
     * Validates the spec (and the savepoint folder, if one is given) and returns a launcher that
     * has started nothing yet.
     *
     * @throws SpecException listing every problem of the spec
     * @throws IllegalArgumentException when the savepoint folder does not exist or is not a folder
     */
    public LocalLauncher build() throws IOException, SpecException {
      if (fromSavepoint != null && !Files.isDirectory(fromSavepoint)) {
        throw new IllegalArgumentException(
            "savepoint "
                + fromSavepoint
                + (Files.exists(fromSavepoint) ? " is not a folder" : " does not exist")
                + " (`sluice savepoint` prints the folder of the one it takes)");
      }
      return new LocalLauncher(this, validate(spec));
    }

    /** Children run in the spec's folder, so relative class path entries must be made absolute. */
    private static String absoluteClassPath(String cp) {
      return java.util.Arrays.stream(cp.split(File.pathSeparator))
          .filter(s -> !s.isEmpty())
          .map(s -> Path.of(s).toAbsolutePath().toString())
          .collect(Collectors.joining(File.pathSeparator));
    }
  }
}
