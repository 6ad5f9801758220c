package io.sluice.runtime.internal.task;

import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Cancellable;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.RecordAccess;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.api.TimerService;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.internal.codec.RecordCodec;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.trace.ProcessSpans;
import io.sluice.runtime.internal.trace.StageTracing;
import io.sluice.runtime.internal.trace.TraceWire;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs one operator on the subtask thread: decodes events with the stage's serdes, calls the
 * operator, encodes what it forwards and hands it to the emitter. An input the operator cannot
 * process (bad bytes, an exception) goes to the dead-letter output with the reason.
 *
 * <p>Tracing: for each sampled input (the flag is read from the wire as the event is scanned) it
 * records a {@code process} span, and what the operator sends while processing that input carries
 * the span's context; unsampled inputs take the same path as with tracing off.
 *
 * <p>Threading: confined to the subtask thread.
 *
 * @param <KIn> input key
 * @param <VIn> input value
 * @param <KOut> output key
 * @param <VOut> output value
 */
public final class OperatorRunner<KIn, VIn, KOut, VOut> implements OperatorContext<KOut, VOut> {
  private static final Logger LOG = Logger.getLogger(OperatorRunner.class.getName());
  private static final RecordAccess.Accessor RECORDS = RecordAccess.get();

  private final String stageName;
  private final String instanceId;
  private final int instanceIndex;
  private final StageDefinition<KIn, VIn, KOut, VOut> definition;
  private final Operator<KIn, VIn, KOut, VOut> operator;
  private final RawOperator raw;
  private final RecordCodec codec;
  private final RawOperator.Emitter out;
  private final Mailbox mailbox;
  private final Clock clock;
  private final TaskMetrics metrics;
  // Null when this process does not trace: then nothing below looks at trace contexts.
  private final ProcessSpans spans;
  // What a raw operator emits through while a sampled input's span is active.
  private final RawOperator.Emitter tracingOut;
  // The input being processed: its wire form, parsed into an Event only if someone needs it
  // (a dead letter, a derived id); or an Event that arrived parsed.
  private com.google.protobuf.ByteString currentWire;
  private Event current;
  private long deadLetterLogs;
  private final KeyedTimers<KIn> timers = new KeyedTimers<>();
  private final Timers timerService = new Timers();
  private long watermark = Long.MIN_VALUE;
  // The mailbox timer that fires processing-time timers, and the wall-clock time it is set for.
  private Mailbox.Timer processingWakeup;
  private long processingWakeupAt = Long.MAX_VALUE;

  /** Records spans through {@code tracing} when it is enabled ({@link StageTracing#off()}: never). */
  public OperatorRunner(
      String stageName,
      String instanceId,
      int instanceIndex,
      StageDefinition<KIn, VIn, KOut, VOut> definition,
      RawOperator.Emitter out,
      Mailbox mailbox,
      Clock clock,
      TaskMetrics metrics,
      StageTracing tracing) {
    this.stageName = stageName;
    this.instanceId = instanceId;
    this.instanceIndex = instanceIndex;
    this.definition = definition;
    this.operator = definition.operator().get();
    this.raw = operator instanceof RawOperator r ? r : null;
    this.codec = new RecordCodec(instanceId);
    this.out = out;
    this.mailbox = mailbox;
    this.clock = clock;
    this.metrics = metrics;
    this.spans = ProcessSpans.create(tracing, stageName, instanceIndex);
    this.tracingOut = spans == null ? null : new RetracingEmitter();
  }

  /** The operator instance (for stages that expose services bound to it). */
  public Object operator() {
    return operator;
  }

  public void init() {
    operator.init(this);
  }

  /** The operator's own readiness (e.g. egress subscribers), besides the router's. */
  public boolean operatorReady() {
    return raw != null ? raw.isReady() : operator.isReady();
  }

  /** The operator's watermark hold (see Operator#watermarkHold). */
  public long watermarkHold() {
    return raw == null ? operator.watermarkHold() : Long.MAX_VALUE;
  }

  /** Whether the operator still has asynchronous work in flight (see Operator#hasPendingWork). */
  public boolean hasPendingWork() {
    return raw == null && operator.hasPendingWork();
  }

  /**
   * Advances the operator's watermark: fires the event-time timers up to it, then tells the
   * operator. The caller passes the watermark downstream after this returns, so everything the
   * timers forward travels ahead of it.
   */
  public void advanceWatermark(long newWatermark) {
    if (newWatermark <= watermark) {
      return;
    }
    watermark = newWatermark;
    if (raw != null) {
      return;
    }
    timers.advanceWatermark(newWatermark, this::fire);
    operator.onWatermark(newWatermark);
  }

  private void fire(KIn key, long timestamp, TimeDomain domain) {
    operator.onTimer(key, timestamp, domain);
  }

  /** Processes one input event. */
  public void process(Event event) {
    current = event;
    boolean traced = spans != null && ProcessSpans.sampled(event) && spans.start(event);
    try {
      if (raw != null) {
        raw.process(event, spans == null ? out : tracingOut);
        return;
      }
      Record<KIn, VIn> record;
      try {
        record = codec.decode(event, definition.keyIn(), definition.valueIn());
      } catch (SerdeException e) {
        deadLetter(event, e.getMessage(), e);
        return;
      }
      operator.process(record);
    } catch (Exception e) { // also checked exceptions thrown sneakily by user code
      // Same rule as the test kit: the message, or the exception's class when it has none.
      String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
      deadLetter(event, reason, e);
      if (deadLetterLogs++ < 5) {
        LOG.log(Level.WARNING, instanceId + ": operator failed on event " + event.getId(), e);
      }
    } finally {
      current = null;
      if (traced) {
        spans.end();
      }
    }
  }

  /** Processes a received batch: as bytes for an operator that takes them, else parsed. */
  public void process(io.sluice.runtime.internal.exchange.InboundBatch batch) {
    int n = batch.size();
    if (raw != null && raw.handlesRawBytes()) {
      if (spans == null) {
        for (int i = 0; i < n; i++) {
          raw.processRaw(batch.eventBytes(i), out);
        }
        return;
      }
      byte[] array = batch.array();
      for (int i = 0; i < n; i++) {
        long trace = TraceWire.sampledTraceAt(array, batch.offset(i), batch.length(i));
        if (trace >= 0) {
          processRawSampled(array, batch.offset(i), batch.length(i), trace, batch.eventBytes(i));
        } else {
          raw.processRaw(batch.eventBytes(i), tracingOut);
        }
      }
      return;
    }
    if (raw != null) {
      // A raw operator that takes parsed events (egress): parse each, no records.
      for (int i = 0; i < n; i++) {
        Event event;
        try {
          event = batch.event(i);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          deadLetter(Event.newBuilder().setPayload(batch.eventBytes(i)).build(),
              "malformed event bytes: " + e.getMessage());
          continue;
        }
        process(event);
      }
      return;
    }
    for (int i = 0; i < n; i++) {
      processWire(batch, i);
    }
  }

  /**
   * A sampled event for an operator that takes bytes, {@code bytes} = {@code array[offset, offset +
   * length)}, its trace context at {@code trace} (as TraceWire gives it): its span starts from the
   * context read in place. A malformed event gets no span; the operator takes the bytes as they
   * are, as it would untraced.
   */
  private void processRawSampled(byte[] array, int offset, int length, long trace,
      com.google.protobuf.ByteString bytes) {
    boolean traced = spans.startWire(array, offset, length, trace);
    if (!traced) {
      raw.processRaw(bytes, tracingOut);
      return;
    }
    try {
      raw.processRaw(bytes, tracingOut);
    } finally {
      spans.end();
    }
  }

  /** Processes event {@code i} of a batch, decoded in place from the batch's array. */
  private void processWire(io.sluice.runtime.internal.exchange.InboundBatch batch, int i) {
    current = null;
    currentWire = null;
    Record<KIn, VIn> record;
    try {
      record = codec.decode(batch.array(), batch.offset(i), batch.length(i), definition.keyIn(), definition.valueIn());
    } catch (SerdeException | com.google.protobuf.InvalidProtocolBufferException e) {
      processWire(batch.eventBytes(i)); // the slow path finds the same problem and dead-letters it
      return;
    }
    // The origin is the wire slice, or (an event with attributes takes protobuf's parse) the Event.
    Object origin = RECORDS.origin(record);
    if (origin instanceof Event e) {
      current = e;
    } else {
      currentWire = (com.google.protobuf.ByteString) origin;
    }
    boolean traced = false;
    if (spans != null) {
      // The decode noted where the trace context lies: reading its flag costs a few byte reads.
      traced = current != null
          ? ProcessSpans.sampled(current) && spans.start(current)
          : codec.lastTraceAt() >= 0
              && TraceWire.sampled(batch.array(), codec.lastTraceAt(), codec.lastTraceLength())
              && spans.startWire(batch.array(), batch.offset(i), batch.length(i),
                  ((long) codec.lastTraceAt() << 32) | codec.lastTraceLength());
    }
    try {
      runOperator(record);
    } finally {
      currentWire = null;
      current = null;
      if (traced) {
        spans.end();
      }
    }
  }

  /** Calls the operator on a decoded record; what it throws dead-letters the current input. */
  private void runOperator(Record<KIn, VIn> record) {
    try {
      operator.process(record);
    } catch (Exception e) { // also checked exceptions thrown sneakily by user code
      String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
      deadLetter(currentEvent(), reason, e);
      if (deadLetterLogs++ < 5) {
        LOG.log(Level.WARNING, instanceId + ": operator failed on an event", e);
      }
    }
  }

  /** Processes one event given as its wire form: decoded straight into a record. */
  private void processWire(com.google.protobuf.ByteString wire) {
    currentWire = wire;
    current = null;
    // Only events the fast decoder refused come here (mostly to be dead-lettered): no need to be quick.
    io.sluice.proto.v1.TraceContext trace = spans == null ? null : RecordCodec.traceContextOfWire(wire);
    boolean traced = trace != null && (trace.getTraceFlags() & 1) != 0 && spans.start(currentEvent());
    try {
      Record<KIn, VIn> record;
      try {
        record = codec.decode(wire, definition.keyIn(), definition.valueIn());
      } catch (SerdeException e) {
        deadLetter(currentEvent(), e.getMessage(), e);
        return;
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        deadLetter(currentEvent(), "malformed event bytes: " + e.getMessage(), e);
        return;
      }
      runOperator(record);
    } finally {
      currentWire = null;
      current = null;
      if (traced) {
        spans.end();
      }
    }
  }

  /** The input being processed as an Event, parsed on first use; null outside processing. */
  private Event currentEvent() {
    if (current == null && currentWire != null) {
      try {
        current = Event.parseFrom(currentWire);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        // Not an Event at all: its bytes become the payload of the dead letter.
        current = Event.newBuilder().setPayload(currentWire).build();
      }
    }
    return current;
  }

  /**
   * Snapshots the operator at an aligned barrier: what it writes through {@link
   * io.sluice.runtime.api.StateSnapshot}, and its timers.
   */
  public io.sluice.runtime.internal.state.StateCollector<KIn> snapshot(
      long checkpointId, boolean savepoint, int maxParallelism) {
    var collector = new io.sluice.runtime.internal.state.StateCollector<KIn>(
        checkpointId, savepoint, definition.keyIn(), maxParallelism);
    operator.snapshotState(collector);
    if (raw == null) {
      timers.forEachLive(collector::putTimer);
    }
    return collector;
  }

  /**
   * Restores the operator before it processes anything: the timers of the key groups it owns, then
   * {@link Operator#restoreState}.
   */
  public void restore(
      long checkpointId,
      java.util.List<io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile> files,
      io.sluice.proto.v1.KeyGroupRange owned,
      int maxParallelism) {
    var restored = new io.sluice.runtime.internal.state.RestoredState<KIn>(
        checkpointId, files, owned, definition.keyIn());
    restored.checkMaxParallelism(maxParallelism);
    restored.forEachTimer((key, timestamp, domain) -> {
      if (domain == TimeDomain.EVENT_TIME) {
        timerService.registerEventTimeTimer(key, timestamp);
      } else {
        timerService.registerProcessingTimeTimer(key, timestamp);
      }
    });
    operator.restoreState(restored);
  }

  /** Checkpoint {@code checkpointId} completed everywhere. */
  public void checkpointComplete(long checkpointId) {
    operator.checkpointComplete(checkpointId);
  }

  /** The events of one input batch have been processed. */
  public void endOfBatch() {
    if (raw != null) {
      raw.endOfBatch(out);
    }
  }

  /** Throws the operator away without closing it (a restore or a stop); see Operator#dispose. */
  public void dispose() {
    try {
      operator.dispose();
    } catch (RuntimeException e) {
      LOG.log(java.util.logging.Level.WARNING, instanceId + ": dispose failed", e);
    }
  }

  /** Calls the operator's close; what it forwards there is delivered. */
  public void close() {
    if (raw != null) {
      raw.close(out);
    } else {
      operator.close();
    }
  }

  @Override
  public String stageName() {
    return stageName;
  }

  @Override
  public String instanceId() {
    return instanceId;
  }

  @Override
  public int instanceIndex() {
    return instanceIndex;
  }

  @Override
  @SuppressWarnings("unchecked")
  public void forward(Record<? extends KOut, ? extends VOut> record) {
    Record<KOut, VOut> r = (Record<KOut, VOut>) record;
    send("", codec.encodeOrForward(r, definition.keyOut(), definition.valueOut(), this::currentEvent));
  }

  @Override
  public <K, V> void forward(OutputTag<K, V> output, Record<K, V> record) {
    send(output.name(), codec.encodeOrForward(record, output.keySerde(), output.valueSerde(), this::currentEvent));
  }

  @Override
  public void deadLetter(String reason) {
    Event input = currentEvent();
    if (input == null) {
      throw new IllegalStateException("deadLetter() is only valid while processing a record");
    }
    deadLetter(input, reason);
  }

  private void send(String output, Object encoded) {
    if (spans != null && spans.active()) {
      encoded = spans.retrace(encoded);
    }
    if (encoded instanceof com.google.protobuf.ByteString raw) {
      out.emitRaw(output, raw); // unchanged: the bytes it came in as
    } else {
      out.emit(output, (Event) encoded);
    }
  }

  private void deadLetter(Event event, String reason) {
    deadLetter(event, reason, null);
  }

  /** Dead-letters an input; {@code cause} is the exception behind it, if any (for the span). */
  private void deadLetter(Event event, String reason, Throwable cause) {
    metrics.deadLettered();
    Event dead = event.toBuilder().putAttributes("error", reason).putAttributes("stage", stageName).build();
    if (spans != null && spans.active()) {
      spans.failed(reason, cause);
      dead = spans.retrace(dead);
    }
    out.emit(OutputTag.DEAD_LETTER, dead);
  }

  /**
   * What a raw operator emits through when the process traces: while a span is active, on that
   * span's context (see ProcessSpans#retrace); otherwise unchanged. It is given for every event,
   * sampled or not, so that the operator's emit call sees one emitter type per process, which the
   * JIT can inline, rather than the router for most events and this for the sampled few.
   */
  private final class RetracingEmitter implements RawOperator.Emitter {
    @Override
    public void emit(String output, Event event) {
      out.emit(output, spans.active() ? spans.retrace(event) : event);
    }

    @Override
    public void emitRaw(String output, com.google.protobuf.ByteString event) {
      if (!spans.active()) {
        out.emitRaw(output, event);
        return;
      }
      Object retraced = spans.retrace(event);
      if (retraced instanceof com.google.protobuf.ByteString bytes) {
        out.emitRaw(output, bytes);
      } else {
        out.emit(output, (Event) retraced);
      }
    }
  }

  @Override
  public Cancellable schedule(Duration interval, Runnable callback) {
    long period = Math.max(1, interval.toNanos());
    Periodic p = new Periodic(period, callback);
    p.timer = mailbox.schedule(mailbox.nanoTime() + period, p);
    return p::cancel;
  }

  @Override
  public long currentTimeMillis() {
    return clock.millis();
  }

  @Override
  @SuppressWarnings("unchecked") // the input serdes' types; see OperatorContext#deadLetter
  public void deadLetter(Record<?, ?> input, String reason) {
    Object origin = RECORDS.origin(input);
    Event event;
    if (origin instanceof Event e) {
      event = e;
    } else {
      Object encoded = codec.encodeOrForward(
          (Record<KIn, VIn>) input, definition.keyIn(), definition.valueIn(), this::currentEvent);
      event = encoded instanceof Event e ? e : parseOrWrap((com.google.protobuf.ByteString) encoded);
    }
    deadLetter(event, reason);
  }

  private static Event parseOrWrap(com.google.protobuf.ByteString wire) {
    try {
      return Event.parseFrom(wire);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return Event.newBuilder().setPayload(wire).build();
    }
  }

  @Override
  @SuppressWarnings("unchecked") // keys are the input key type, as the API documents
  public <K> TimerService<K> timerService() {
    return (TimerService<K>) timerService;
  }

  @Override
  public long currentWatermark() {
    return watermark;
  }

  @Override
  public Executor executor() {
    return mailbox::execute;
  }

  /** Keeps one mailbox timer set for the earliest processing-time timer. */
  private void armProcessingWakeup() {
    long next = timers.nextProcessingTime();
    if (next == Long.MAX_VALUE || next >= processingWakeupAt) {
      return;
    }
    if (processingWakeup != null) {
      processingWakeup.cancel();
    }
    processingWakeupAt = next;
    long delayNanos = Math.max(0, next - clock.millis()) * 1_000_000L;
    processingWakeup = mailbox.schedule(mailbox.nanoTime() + delayNanos, this::fireProcessingTimers);
  }

  private void fireProcessingTimers() {
    processingWakeup = null;
    processingWakeupAt = Long.MAX_VALUE;
    timers.advanceProcessingTime(clock.millis(), this::fire);
    armProcessingWakeup();
  }

  private final class Timers implements TimerService<KIn> {
    @Override
    public void registerEventTimeTimer(KIn key, long timestamp) {
      timers.register(TimeDomain.EVENT_TIME, key, timestamp);
    }

    @Override
    public void deleteEventTimeTimer(KIn key, long timestamp) {
      timers.delete(TimeDomain.EVENT_TIME, key, timestamp);
    }

    @Override
    public void registerProcessingTimeTimer(KIn key, long timestamp) {
      if (timers.register(TimeDomain.PROCESSING_TIME, key, timestamp)) {
        armProcessingWakeup();
      }
    }

    @Override
    public void deleteProcessingTimeTimer(KIn key, long timestamp) {
      timers.delete(TimeDomain.PROCESSING_TIME, key, timestamp);
    }

    @Override
    public long currentWatermark() {
      return watermark;
    }

    @Override
    public long currentProcessingTime() {
      return clock.millis();
    }
  }

  private final class Periodic implements Runnable {
    final long period;
    final Runnable callback;
    Mailbox.Timer timer;
    boolean cancelled;

    Periodic(long period, Runnable callback) {
      this.period = period;
      this.callback = callback;
    }

    @Override
    public void run() {
      if (cancelled) {
        return;
      }
      callback.run();
      if (!cancelled) {
        timer = mailbox.schedule(mailbox.nanoTime() + period, this);
      }
    }

    void cancel() {
      cancelled = true;
      if (timer != null) {
        timer.cancel();
      }
    }
  }
}
