package io.sluice.runtime.testkit;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.Cancellable;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.RecordAccess;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.api.TimerService;
import io.sluice.runtime.api.TraceParent;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile;
import io.sluice.runtime.internal.state.RestoredState;
import io.sluice.runtime.internal.state.StateCollector;
import io.sluice.runtime.internal.task.KeyedTimers;
import io.sluice.runtime.partition.KeyGroups;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs one operator of a stage without a mesh, the way Kafka Streams' {@code TopologyTestDriver}
 * runs a topology: pipe records in, read what the operator forwarded, dead-lettered or sent to side
 * outputs, and move a fake wall clock to fire {@link OperatorContext#schedule} callbacks.
 *
 * <p>It follows the runtime's rules for one subtask:
 *
 * <ul>
 *   <li>Input goes through the stage's input serdes, as it does off the wire: {@link
 *       #pipeInput(Record)} encodes the record with them and decodes it again; {@link
 *       #pipeRawInput} decodes the given bytes. A {@link SerdeException} while decoding sends the
 *       raw input to the dead letters with the exception's message; the operator never sees it.
 *   <li>An exception thrown from {@link Operator#process} sends the input to the dead letters with
 *       the exception's message (the exception's simple class name when it has no message), and
 *       processing continues with the next input. Records the operator forwarded before it threw
 *       stay forwarded: the runtime cannot take them back either.
 *   <li>{@link OperatorContext#deadLetter} sends the current input, bytes unchanged, to the dead
 *       letters; each call sends one.
 *   <li>Outputs are encoded with the stage's output serdes as they are forwarded, so an operator
 *       that forwards something its serde cannot encode fails in {@code process} (and the input is
 *       dead-lettered) just as it would in the runtime. A record forwarded unchanged keeps the
 *       input's bytes. On the wire ({@link #readOutputEvents()}), a new record with an empty id
 *       gets one derived from the input's ({@code <input id>/<instance id>}, or {@code <instance
 *       id>-<n>} outside {@code process} or for an input without id), and one without a trace
 *       context inherits the input's.
 *   <li>Forwarding to a side output that the {@link StageDefinition} does not declare fails.
 *   <li>{@link #close()} calls {@link Operator#close()} once and collects what it forwards; after
 *       that, scheduled callbacks no longer fire and input is refused.
 * </ul>
 *
 * <p>Time: {@link OperatorContext#currentTimeMillis()} reads a fake clock that starts at {@link
 * #DEFAULT_WALL_CLOCK_START} (or the instant given) and moves only in {@link #advanceWallClock}. It
 * counts nanoseconds, so schedules shorter than a millisecond keep their period (an interval under
 * 1ns counts as 1ns, as in the runtime). Record timestamps (event time) are whatever the test pipes
 * in.
 *
 * <p>Event time: {@link #advanceWatermark} moves the operator's watermark as an arriving watermark
 * would: event-time timers up to it fire in timestamp order, then {@link Operator#onWatermark}
 * runs. Processing-time timers fire as {@link #advanceWallClock} passes them.
 *
 * <p>Asynchronous work: tasks an operator hands to {@link OperatorContext#executor()} from other
 * threads queue up and run on the driver's thread, at the start of every input, while an operator
 * that is not {@link Operator#isReady() ready} is waited for, in {@link #runPendingTasks}, {@link
 * #awaitPendingWork} and before {@link #close()}.
 *
 * <p>Threading: thread-confined. The thread that creates the driver must make every call, and the
 * operator runs synchronously on it, as it runs on its subtask's thread in the runtime. The driver
 * and the context it hands the operator check this on every call, so an operator that calls its
 * context from a thread of its own fails its test with an {@link IllegalStateException}.
 *
 * @param <KIn> input key type
 * @param <VIn> input value type
 * @param <KOut> main output key type
 * @param <VOut> main output value type
 */
public final class OperatorTestDriver<KIn, VIn, KOut, VOut> implements AutoCloseable {
  /** Where the fake wall clock starts unless told otherwise: 2026-01-01T00:00:00Z. */
  public static final Instant DEFAULT_WALL_CLOCK_START = Instant.parse("2026-01-01T00:00:00Z");

  private static final RecordAccess.Accessor RECORDS = RecordAccess.get();

  private enum State {
    RUNNING,
    CLOSING,
    CLOSED
  }

  private final String stageName;
  private final int instanceIndex;
  private final Serde<KIn> keyIn;
  private final Serde<VIn> valueIn;
  private final Serde<KOut> keyOut;
  private final Serde<VOut> valueOut;
  private final Map<String, OutputTag<?, ?>> declaredSideOutputs = new LinkedHashMap<>();
  private final Operator<KIn, VIn, KOut, VOut> operator;
  private final Thread owner = Thread.currentThread();

  private final KeyedTimers<KIn> keyedTimers = new KeyedTimers<>();
  private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();
  private long watermark = Long.MIN_VALUE;
  private Duration readyTimeout = Duration.ofSeconds(30);

  private final ArrayDeque<Emitted<KOut, VOut>> output = new ArrayDeque<>();
  private final Map<String, ArrayDeque<Emitted<?, ?>>> sideOutputs = new LinkedHashMap<>();
  private final ArrayDeque<DeadLetter> deadLetters = new ArrayDeque<>();

  // Due time first, then the order of (re)scheduling, so callbacks due together fire in a
  // deterministic order.
  private final PriorityQueue<Timer> timers =
      new PriorityQueue<>(Comparator.comparingLong((Timer t) -> t.due).thenComparingLong(t -> t.seq));
  private long timerSeq;
  private final long startMillis;
  private long elapsedNanos; // since startMillis; timers are due in these units
  private long nextDerivedId;

  private int parallelism = 1;
  private int maxParallelism = KeyGroups.DEFAULT_MAX_PARALLELISM;
  private Event current; // the input being processed; null outside process()
  private State state = State.RUNNING;

  /** A driver for instance 0 of a stage, with the wall clock at {@link #DEFAULT_WALL_CLOCK_START}. */
  public OperatorTestDriver(StageDefinition<KIn, VIn, KOut, VOut> definition, String stageName) {
    this(definition, stageName, 0, DEFAULT_WALL_CLOCK_START);
  }

  /**
   * A driver for one instance of a stage. Creates the operator from the definition's supplier and
   * calls its {@link Operator#init}.
   *
   * @param instanceIndex what {@link OperatorContext#instanceIndex()} returns
   * @param wallClockStart where the fake wall clock starts
   */
  public OperatorTestDriver(
      StageDefinition<KIn, VIn, KOut, VOut> definition,
      String stageName,
      int instanceIndex,
      Instant wallClockStart) {
    Objects.requireNonNull(definition, "definition");
    this.stageName = Objects.requireNonNull(stageName, "stageName");
    if (instanceIndex < 0) {
      throw new IllegalArgumentException("instanceIndex must be >= 0, got " + instanceIndex);
    }
    this.instanceIndex = instanceIndex;
    this.startMillis = wallClockStart.toEpochMilli();
    this.keyIn = definition.keyIn();
    this.valueIn = definition.valueIn();
    this.keyOut = definition.keyOut();
    this.valueOut = definition.valueOut();
    for (OutputTag<?, ?> tag : definition.sideOutputs()) {
      declaredSideOutputs.put(tag.name(), tag);
      sideOutputs.put(tag.name(), new ArrayDeque<>());
    }
    this.operator =
        Objects.requireNonNull(
            definition.operator().get(), "the definition's operator supplier returned null");
    operator.init(new Context());
  }

  /** A driver for a bare operator (instance 0, no side outputs). */
  public static <KIn, VIn, KOut, VOut> OperatorTestDriver<KIn, VIn, KOut, VOut> forOperator(
      Operator<KIn, VIn, KOut, VOut> operator,
      Serde<KIn> keyIn,
      Serde<VIn> valueIn,
      Serde<KOut> keyOut,
      Serde<VOut> valueOut,
      String stageName) {
    return new OperatorTestDriver<>(
        StageDefinition.of(keyIn, valueIn, keyOut, valueOut, () -> operator), stageName);
  }

  /** A driver for instance 0 of the stage a factory makes from {@code config}. */
  public static <KIn, VIn, KOut, VOut> OperatorTestDriver<KIn, VIn, KOut, VOut> forStage(
      StageFactory factory, StageConfig config) {
    return forStage(factory, config, 0);
  }

  /**
   * A driver for one instance of the stage a factory makes from {@code config}, named after the
   * config's stage.
   *
   * <p>A factory's definition is untyped ({@code StageDefinition<?, ?, ?, ?>}); the caller names
   * the types by the variable it assigns to. A wrong guess is caught early: typed input is encoded
   * with the stage's real serdes before the operator sees it, so a value of the wrong type fails
   * in {@code pipeInput} with a {@link ClassCastException}, not inside the operator.
   *
   * @throws io.sluice.runtime.api.ConfigException when the factory rejects the settings
   */
  @SuppressWarnings("unchecked") // the caller states the types; see above for how a lie surfaces
  public static <KIn, VIn, KOut, VOut> OperatorTestDriver<KIn, VIn, KOut, VOut> forStage(
      StageFactory factory, StageConfig config, int instanceIndex) {
    StageDefinition<?, ?, ?, ?> definition = factory.create(config);
    return new OperatorTestDriver<>(
        (StageDefinition<KIn, VIn, KOut, VOut>) definition,
        config.stageName(),
        instanceIndex,
        DEFAULT_WALL_CLOCK_START);
  }

  // ---------------------------------------------------------------- input

  /**
   * Processes one record: encodes it with the input serdes, decodes it again (as the runtime does
   * with bytes off the wire) and hands the result to the operator. Id, timestamp, attributes and
   * trace context are kept.
   *
   * @throws SerdeException if the input serdes cannot encode the test's own record
   */
  public void pipeInput(Record<KIn, VIn> record) {
    checkThread();
    checkRunning();
    awaitReady();
    process(toEvent(record, keyIn, valueIn));
  }

  /** Processes a record with no id, attributes or trace context. */
  public void pipeInput(KIn key, VIn value, long timestamp) {
    pipeInput(new Record<>(key, value, timestamp));
  }

  /**
   * Processes raw bytes as if they came off the wire: decoded with the input serdes; bytes they
   * reject become a dead letter with the {@link SerdeException}'s message.
   */
  public void pipeRawInput(byte[] key, byte[] payload, long time) {
    pipeRawInput(
        Event.newBuilder()
            .setKey(ByteString.copyFrom(key))
            .setPayload(ByteString.copyFrom(payload))
            .setEventTime(time)
            .build());
  }

  /** Processes a wire event (id, attributes and trace context included), like {@link #pipeRawInput(byte[], byte[], long)}. */
  public void pipeRawInput(Event event) {
    checkThread();
    checkRunning();
    awaitReady();
    process(Objects.requireNonNull(event, "event"));
  }

  // ---------------------------------------------------------------- time and lifecycle

  /** The fake wall clock, epoch milliseconds. */
  public long wallClockMillis() {
    checkThread();
    return nowMillis();
  }

  /**
   * Moves the fake wall clock forward and runs every scheduled callback that falls due on the way,
   * in order of due time; of callbacks due at the same instant, the one that has waited longest
   * (since it was scheduled or last ran) runs first. The clock reads each callback's due time while
   * it runs, and {@code now + by} afterwards. A callback that throws stops the advance there (the
   * clock stays at its due time) and the exception propagates to the test; the timer stays
   * scheduled.
   */
  public void advanceWallClock(Duration by) {
    checkThread();
    if (by.isNegative()) {
      throw new IllegalArgumentException("the wall clock only moves forward; got " + by);
    }
    long target = Math.addExact(elapsedNanos, by.toNanos());
    while (true) {
      long nextTimer = keyedTimers.nextProcessingTime();
      long timerDue = nextTimer == Long.MAX_VALUE ? Long.MAX_VALUE
          : Math.max(elapsedNanos, (nextTimer - startMillis) * 1_000_000L);
      long callbackDue = timers.isEmpty() ? Long.MAX_VALUE : timers.peek().due;
      if (Math.min(timerDue, callbackDue) > target) {
        break;
      }
      if (timerDue <= callbackDue) {
        // Per-key processing-time timers; at a tie they go before the periodic callbacks.
        elapsedNanos = timerDue;
        keyedTimers.advanceProcessingTime(nowMillis(), operator::onTimer);
        continue;
      }
      Timer t = timers.poll();
      elapsedNanos = t.due;
      try {
        t.callback.run();
      } finally {
        if (!t.cancelled && state == State.RUNNING) {
          t.due += t.intervalNanos;
          t.seq = timerSeq++;
          timers.add(t);
        }
      }
    }
    elapsedNanos = target;
  }

  /**
   * Moves the operator's watermark forward, as a watermark arriving from its inputs would: fires
   * every event-time timer at or before it (timestamp order), then calls {@link
   * Operator#onWatermark}. A watermark at or below the current one does nothing, as in the runtime,
   * where watermarks never go back.
   */
  public void advanceWatermark(long newWatermark) {
    checkThread();
    checkRunning();
    runPendingTasks();
    if (newWatermark <= watermark) {
      return;
    }
    watermark = newWatermark;
    keyedTimers.advanceWatermark(newWatermark, operator::onTimer);
    operator.onWatermark(newWatermark);
  }

  /** The operator's watermark; {@link Long#MIN_VALUE} before {@link #advanceWatermark}. */
  public long currentWatermark() {
    checkThread();
    return watermark;
  }

  /** How many timers of a domain are registered and not yet fired. */
  public int pendingTimers(TimeDomain domain) {
    checkThread();
    return keyedTimers.size(domain);
  }

  /** Runs the executor tasks that have arrived so far, without waiting; returns how many ran. */
  public int runPendingTasks() {
    checkThread();
    int n = 0;
    for (Runnable task; (task = tasks.poll()) != null; n++) {
      task.run();
    }
    return n;
  }

  /**
   * Runs executor tasks as they arrive until the operator has no {@link Operator#hasPendingWork()
   * pending work}.
   *
   * @throws IllegalStateException when work is still pending after {@code timeout}
   */
  public void awaitPendingWork(Duration timeout) {
    checkThread();
    long deadline = System.nanoTime() + timeout.toNanos();
    runPendingTasks();
    while (operator.hasPendingWork()) {
      runNextTask(deadline, "its pending work to finish");
    }
  }

  /** How long input and {@link #close()} wait for asynchronous work (30 s unless changed). */
  public void setAsyncTimeout(Duration timeout) {
    checkThread();
    readyTimeout = Objects.requireNonNull(timeout, "timeout");
  }

  private void awaitReady() {
    runPendingTasks();
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    while (!operator.isReady()) {
      runNextTask(deadline, "isReady() to turn true");
    }
  }

  private void runNextTask(long deadline, String waitingFor) {
    Runnable task;
    try {
      task = tasks.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + waitingFor, e);
    }
    if (task == null) {
      throw new IllegalStateException(
          "stage " + stageName + ": waited in vain for " + waitingFor + "; no executor task arrived");
    }
    task.run();
  }

  /**
   * Closes the operator: waits for its pending asynchronous work (see {@link #setAsyncTimeout}),
   * stops its scheduled callbacks and calls {@link Operator#close()}, whose forwarded records can
   * then be read. Idempotent; outputs stay readable afterwards.
   */
  @Override
  public void close() {
    checkThread();
    if (state != State.RUNNING) {
      return;
    }
    awaitPendingWork(readyTimeout);
    state = State.CLOSING;
    timers.clear();
    try {
      operator.close();
    } finally {
      state = State.CLOSED;
    }
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * One instance's snapshot as the runtime stores it at a checkpoint: the operator's keyed and
   * operator-wide state split by key group, and its timers. Immutable.
   */
  public static final class Snapshot {
    private final InstanceStateFile file;

    Snapshot(InstanceStateFile file) {
      this.file = file;
    }

    /** The stored form (header, key groups, operator-wide state). */
    public InstanceStateFile file() {
      return file;
    }

    /** The serialized size of the state, bytes. */
    public long sizeBytes() {
      long n = file.header().getSerializedSize() + file.operatorState().getSerializedSize();
      for (var g : file.keyGroups()) {
        n += g.getSerializedSize();
      }
      return n;
    }
  }

  /**
   * Takes a checkpoint as the runtime does when barrier {@code checkpointId} has arrived on every
   * input: waits for asynchronous work to finish, calls {@link Operator#snapshotState}, and adds
   * the timers.
   */
  public Snapshot snapshot(long checkpointId) {
    checkThread();
    checkRunning();
    awaitPendingWork(readyTimeout);
    StateCollector<KIn> collector = new StateCollector<>(checkpointId, false, keyIn, maxParallelism);
    operator.snapshotState(collector);
    keyedTimers.forEachLive(collector::putTimer);
    StateFileHeader header = StateFileHeader.newBuilder()
        .setStage(stageName)
        .setInstanceId(instanceId())
        .setInstanceIndex(instanceIndex)
        .setParallelism(parallelism)
        .setCheckpointId(checkpointId)
        .setMaxParallelism(maxParallelism)
        .setKeyGroups(KeyGroups.rangeFor(instanceIndex, parallelism, maxParallelism))
        .build();
    return new Snapshot(new InstanceStateFile(header, collector.keyGroups(), collector.operatorState()));
  }

  /** Tells the operator that checkpoint {@code checkpointId} completed ({@link Operator#checkpointComplete}). */
  public void checkpointComplete(long checkpointId) {
    checkThread();
    checkRunning();
    operator.checkpointComplete(checkpointId);
  }

  /**
   * A driver for instance {@code index} of {@code parallelism}, restored from the snapshots of
   * every instance of an earlier run (a rescale when their parallelism differs): the operator is
   * created and initialised, the timers of the key groups it owns come back, then {@link
   * Operator#restoreState} runs. The watermark starts unknown, as after a restore in the runtime.
   */
  public static <KIn, VIn, KOut, VOut> OperatorTestDriver<KIn, VIn, KOut, VOut> restore(
      StageDefinition<KIn, VIn, KOut, VOut> definition,
      String stageName,
      int index,
      int parallelism,
      List<Snapshot> snapshots) {
    if (parallelism < 1 || index >= parallelism) {
      throw new IllegalArgumentException("index " + index + " of parallelism " + parallelism);
    }
    OperatorTestDriver<KIn, VIn, KOut, VOut> d =
        new OperatorTestDriver<>(definition, stageName, index, DEFAULT_WALL_CLOCK_START);
    d.parallelism = parallelism;
    List<InstanceStateFile> files = new ArrayList<>();
    long id = 0;
    for (Snapshot s : snapshots) {
      files.add(s.file);
      id = s.file.header().getCheckpointId();
    }
    RestoredState<KIn> restored = new RestoredState<>(
        id, files, KeyGroups.rangeFor(index, parallelism, d.maxParallelism), d.keyIn);
    restored.checkMaxParallelism(d.maxParallelism);
    restored.forEachTimer((key, timestamp, domain) -> d.keyedTimers.register(domain, key, timestamp));
    d.operator.restoreState(restored);
    return d;
  }

  /** {@link #restore(StageDefinition, String, int, int, List)} for the stage a factory makes. */
  @SuppressWarnings("unchecked") // as in forStage
  public static <KIn, VIn, KOut, VOut> OperatorTestDriver<KIn, VIn, KOut, VOut> restore(
      StageFactory factory, StageConfig config, int index, int parallelism, List<Snapshot> snapshots) {
    return restore((StageDefinition<KIn, VIn, KOut, VOut>) factory.create(config), config.stageName(),
        index, parallelism, snapshots);
  }

  /**
   * Sets this instance's place among the stage's replicas for the snapshots it takes (default: the
   * only one). Call before the first snapshot.
   */
  public OperatorTestDriver<KIn, VIn, KOut, VOut> parallelism(int parallelism) {
    if (parallelism < 1 || instanceIndex >= parallelism) {
      throw new IllegalArgumentException("index " + instanceIndex + " of parallelism " + parallelism);
    }
    this.parallelism = parallelism;
    return this;
  }

  // ---------------------------------------------------------------- output

  /**
   * Takes the oldest record forwarded to the main output.
   *
   * @throws NoSuchElementException when there is none
   */
  public Record<KOut, VOut> readOutput() {
    checkThread();
    Emitted<KOut, VOut> e = output.poll();
    if (e == null) {
      throw new NoSuchElementException("stage " + stageName + " has forwarded no (further) record to its main output");
    }
    return e.record();
  }

  /** Takes every record forwarded to the main output so far, oldest first. */
  public List<Record<KOut, VOut>> readOutputs() {
    checkThread();
    List<Record<KOut, VOut>> records = new ArrayList<>(output.size());
    for (Emitted<KOut, VOut> e; (e = output.poll()) != null; ) {
      records.add(e.record());
    }
    return records;
  }

  /**
   * Takes every record forwarded to the main output so far as the wire events the runtime would
   * send: encoded with the output serdes, or the input's own bytes for a record forwarded
   * unchanged. A new record with an empty id gets a derived one, as in the runtime (see above).
   */
  public List<Event> readOutputEvents() {
    checkThread();
    List<Event> events = new ArrayList<>(output.size());
    for (Emitted<KOut, VOut> e; (e = output.poll()) != null; ) {
      events.add(e.event());
    }
    return events;
  }

  /** True when the main output has nothing left to read. */
  public boolean isOutputEmpty() {
    checkThread();
    return output.isEmpty();
  }

  /**
   * Takes every record forwarded to a declared side output so far.
   *
   * @throws IllegalArgumentException if the stage declares no side output of that name
   */
  public List<Record<?, ?>> readSideOutput(String name) {
    checkThread();
    List<Record<?, ?>> records = new ArrayList<>();
    ArrayDeque<Emitted<?, ?>> queue = sideOutput(name);
    for (Emitted<?, ?> e; (e = queue.poll()) != null; ) {
      records.add(e.record());
    }
    return records;
  }

  /** Takes every record forwarded to a declared side output so far, typed by its tag. */
  @SuppressWarnings("unchecked") // the context only accepts Record<K, V> for an OutputTag<K, V>
  public <K, V> List<Record<K, V>> readSideOutput(OutputTag<K, V> tag) {
    List<Record<K, V>> records = new ArrayList<>();
    for (Record<?, ?> r : readSideOutput(tag.name())) {
      records.add((Record<K, V>) r);
    }
    return records;
  }

  /** Takes every record forwarded to a declared side output so far, as wire events. */
  public List<Event> readSideOutputEvents(String name) {
    checkThread();
    List<Event> events = new ArrayList<>();
    ArrayDeque<Emitted<?, ?>> queue = sideOutput(name);
    for (Emitted<?, ?> e; (e = queue.poll()) != null; ) {
      events.add(e.event());
    }
    return events;
  }

  /** Takes every dead letter so far, oldest first. */
  public List<DeadLetter> readDeadLetters() {
    checkThread();
    List<DeadLetter> letters = new ArrayList<>(deadLetters);
    deadLetters.clear();
    return letters;
  }

  // ---------------------------------------------------------------- internals

  private void process(Event raw) {
    KIn key;
    VIn value;
    try {
      key = keyIn.deserialize(raw.getKey().toByteArray());
      value = valueIn.deserialize(raw.getPayload().toByteArray());
    } catch (SerdeException e) {
      deadLetters.add(new DeadLetter(raw, reason(e), stageName));
      return;
    }
    Record<KIn, VIn> record =
        RECORDS.create(
            raw.getId(),
            key,
            value,
            raw.getEventTime(),
            Map.copyOf(raw.getAttributesMap()),
            trace(raw),
            raw);
    current = raw;
    try {
      operator.process(record);
    } catch (Exception e) {
      // Exception, not RuntimeException: a checked exception thrown sneakily is still the
      // record's failure. Errors (including a test's AssertionError) propagate.
      deadLetters.add(new DeadLetter(raw, reason(e), stageName));
    } finally {
      current = null;
    }
  }

  /** The reason the runtime gives for an exception: its message, else its class's simple name. */
  static String reason(Throwable e) {
    String message = e.getMessage();
    if (message != null) {
      return message;
    }
    String name = e.getClass().getSimpleName();
    return name.isEmpty() ? e.getClass().getName() : name;
  }

  private static TraceParent trace(Event e) {
    if (!e.hasTrace()) {
      return null;
    }
    TraceContext t = e.getTrace();
    if (t.getTraceId().size() != 16 || t.getSpanId().size() != 8) {
      return null; // malformed on the wire: the runtime drops it rather than failing the event
    }
    return TraceParent.fromBytes(
        t.getTraceId().toByteArray(), t.getSpanId().toByteArray(), t.getTraceFlags(), t.getTraceState());
  }

  private <K, V> Event wireEvent(Record<K, V> record, Serde<K> keySerde, Serde<V> valueSerde) {
    // A record forwarded unchanged still carries the event it was decoded from: the runtime sends
    // those bytes as they are, so the test kit shows them too.
    if (RECORDS.origin(record) instanceof Event origin) {
      return origin;
    }
    Event encoded = toEvent(record, keySerde, valueSerde);
    if (!encoded.getId().isEmpty() && (encoded.hasTrace() || current == null || !current.hasTrace())) {
      return encoded;
    }
    // As the runtime does: a made-up record gets an id derived from its input (deterministic, so a
    // replay after a restore makes the same ids) and the input's trace context.
    Event.Builder b = encoded.toBuilder();
    if (encoded.getId().isEmpty()) {
      b.setId(
          current != null && !current.getId().isEmpty()
              ? current.getId() + "/" + instanceId()
              : instanceId() + "-" + nextDerivedId++);
    }
    if (!encoded.hasTrace() && current != null && current.hasTrace()) {
      b.setTrace(current.getTrace());
    }
    return b.build();
  }

  private static <K, V> Event toEvent(Record<K, V> record, Serde<K> keySerde, Serde<V> valueSerde) {
    Event.Builder b =
        Event.newBuilder()
            .setId(record.id())
            .setKey(bytes(keySerde.serialize(record.key())))
            .setEventTime(record.timestamp())
            .setPayload(bytes(valueSerde.serialize(record.value())))
            .setContentType(valueSerde.contentType())
            .putAllAttributes(record.attributes());
    TraceParent t = record.trace();
    if (t != null) {
      b.setTrace(
          TraceContext.newBuilder()
              .setTraceId(ByteString.copyFrom(t.traceIdBytes()))
              .setSpanId(ByteString.copyFrom(t.spanIdBytes()))
              .setTraceFlags(t.flags())
              .setTraceState(t.traceState()));
    }
    return b.build();
  }

  private static ByteString bytes(byte[] b) {
    return b == null ? ByteString.EMPTY : ByteString.copyFrom(b);
  }

  private ArrayDeque<Emitted<?, ?>> sideOutput(String name) {
    ArrayDeque<Emitted<?, ?>> queue = sideOutputs.get(name);
    if (queue == null) {
      throw new IllegalArgumentException(
          "stage " + stageName + " declares no side output '" + name + "'; it declares " + declaredSideOutputs.keySet());
    }
    return queue;
  }

  private long nowMillis() {
    return startMillis + elapsedNanos / 1_000_000;
  }

  private String instanceId() {
    return stageName + "-" + instanceIndex;
  }

  private void checkThread() {
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException(
          "OperatorTestDriver and its OperatorContext are confined to thread '"
              + owner.getName()
              + "' but were called from '"
              + Thread.currentThread().getName()
              + "'; an operator must call its context only from its own methods");
    }
  }

  private void checkRunning() {
    if (state != State.RUNNING) {
      throw new IllegalStateException("stage " + stageName + " is closed; it takes no more input");
    }
  }

  @SuppressWarnings("unchecked") // Record is immutable, so a Record<? extends K, ...> is a Record<K, ...> to read
  private static <K, V> Record<K, V> widen(Record<? extends K, ? extends V> record) {
    return (Record<K, V>) record;
  }

  /** One forwarded record and the wire event it becomes. */
  private record Emitted<K, V>(Record<K, V> record, Event event) {}

  /** A periodic callback on the fake clock. */
  private final class Timer implements Cancellable {
    final long intervalNanos;
    final Runnable callback;
    long due;
    long seq;
    boolean cancelled;

    Timer(long intervalNanos, Runnable callback) {
      this.intervalNanos = intervalNanos;
      this.callback = callback;
      this.due = elapsedNanos + intervalNanos;
      this.seq = timerSeq++;
    }

    @Override
    public void cancel() {
      checkThread();
      cancelled = true;
      timers.remove(this);
    }
  }

  private final TimerService<KIn> timerService = new TimerService<>() {
    @Override
    public void registerEventTimeTimer(KIn key, long timestamp) {
      checkThread();
      keyedTimers.register(TimeDomain.EVENT_TIME, key, timestamp);
    }

    @Override
    public void deleteEventTimeTimer(KIn key, long timestamp) {
      checkThread();
      keyedTimers.delete(TimeDomain.EVENT_TIME, key, timestamp);
    }

    @Override
    public void registerProcessingTimeTimer(KIn key, long timestamp) {
      checkThread();
      keyedTimers.register(TimeDomain.PROCESSING_TIME, key, timestamp);
    }

    @Override
    public void deleteProcessingTimeTimer(KIn key, long timestamp) {
      checkThread();
      keyedTimers.delete(TimeDomain.PROCESSING_TIME, key, timestamp);
    }

    @Override
    public long currentWatermark() {
      checkThread();
      return watermark;
    }

    @Override
    public long currentProcessingTime() {
      checkThread();
      return nowMillis();
    }
  };

  /** The context handed to the operator; every call is checked against the owner thread. */
  private final class Context implements OperatorContext<KOut, VOut> {
    @Override
    public String stageName() {
      return stageName;
    }

    @Override
    public String instanceId() {
      return OperatorTestDriver.this.instanceId();
    }

    @Override
    public int instanceIndex() {
      return instanceIndex;
    }

    @Override
    public void forward(Record<? extends KOut, ? extends VOut> record) {
      checkThread();
      checkNotClosed("forward");
      Record<KOut, VOut> r = widen(Objects.requireNonNull(record, "record"));
      output.add(new Emitted<>(r, wireEvent(r, keyOut, valueOut)));
    }

    @Override
    public <K, V> void forward(OutputTag<K, V> tag, Record<K, V> record) {
      checkThread();
      checkNotClosed("forward");
      Objects.requireNonNull(record, "record");
      if (!declaredSideOutputs.containsKey(tag.name())) {
        throw new IllegalArgumentException(
            "stage "
                + stageName
                + " forwarded to side output '"
                + tag.name()
                + "', which its StageDefinition does not declare (declared: "
                + declaredSideOutputs.keySet()
                + "); dead letters go through deadLetter(reason)");
      }
      sideOutputs.get(tag.name()).add(new Emitted<>(record, wireEvent(record, tag.keySerde(), tag.valueSerde())));
    }

    @Override
    public void deadLetter(String reason) {
      checkThread();
      Objects.requireNonNull(reason, "reason");
      if (current == null) {
        throw new IllegalStateException(
            "deadLetter() names the input being processed, so it may only be called from process()");
      }
      deadLetters.add(new DeadLetter(current, reason, stageName));
    }

    @Override
    public Cancellable schedule(Duration interval, Runnable callback) {
      checkThread();
      if (state != State.RUNNING) {
        throw new IllegalStateException("stage " + stageName + " is closing; schedule() is no longer allowed");
      }
      Objects.requireNonNull(callback, "callback");
      // At least 1ns, as in the runtime: a zero interval would never let the clock move on.
      Timer t = new Timer(Math.max(1, interval.toNanos()), callback);
      timers.add(t);
      return t;
    }

    @Override
    public long currentTimeMillis() {
      checkThread();
      return nowMillis();
    }

    @Override
    @SuppressWarnings("unchecked") // the input serdes' types; see OperatorContext#deadLetter
    public void deadLetter(Record<?, ?> input, String reason) {
      checkThread();
      Objects.requireNonNull(reason, "reason");
      Event event = RECORDS.origin(Objects.requireNonNull(input, "input")) instanceof Event origin
          ? origin
          : toEvent((Record<KIn, VIn>) input, keyIn, valueIn);
      deadLetters.add(new DeadLetter(event, reason, stageName));
    }

    @Override
    @SuppressWarnings("unchecked") // keys are the input key type, as the API documents
    public <K> TimerService<K> timerService() {
      checkThread();
      return (TimerService<K>) timerService;
    }

    @Override
    public long currentWatermark() {
      checkThread();
      return watermark;
    }

    @Override
    public Executor executor() {
      return tasks::add;
    }

    private void checkNotClosed(String what) {
      if (state == State.CLOSED) {
        throw new IllegalStateException("stage " + stageName + " is closed; " + what + "() is no longer allowed");
      }
    }
  }
}
