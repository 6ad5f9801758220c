package io.sluice.runtime.internal.task;

import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Cancellable;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.internal.codec.RecordCodec;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs one operator on the subtask thread: decodes events with the stage's serdes, calls the
 * operator, encodes what it forwards and hands it to the emitter. An input the operator cannot
 * process (bad bytes, an exception) goes to the dead-letter output with the reason.
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
  private Event current;
  private long deadLetterLogs;

  public OperatorRunner(
      String stageName,
      String instanceId,
      int instanceIndex,
      StageDefinition<KIn, VIn, KOut, VOut> definition,
      RawOperator.Emitter out,
      Mailbox mailbox,
      Clock clock,
      TaskMetrics metrics) {
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
    return raw == null || raw.isReady();
  }

  /** Processes one input event. */
  public void process(Event event) {
    current = event;
    try {
      if (raw != null) {
        raw.process(event, out);
        return;
      }
      Record<KIn, VIn> record;
      try {
        record = codec.decode(event, definition.keyIn(), definition.valueIn());
      } catch (SerdeException e) {
        deadLetter(event, e.getMessage());
        return;
      }
      operator.process(record);
    } catch (Exception e) { // also checked exceptions thrown sneakily by user code
      // Same rule as the test kit: the message, or the exception's class when it has none.
      String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
      deadLetter(event, reason);
      if (deadLetterLogs++ < 5) {
        LOG.log(Level.WARNING, instanceId + ": operator failed on event " + event.getId(), e);
      }
    } finally {
      current = null;
    }
  }

  /** Processes a received batch: as bytes for an operator that takes them, else parsed. */
  public void process(io.sluice.runtime.internal.exchange.InboundBatch batch) {
    int n = batch.size();
    if (raw != null && raw.handlesRawBytes()) {
      for (int i = 0; i < n; i++) {
        raw.processRaw(batch.eventBytes(i), out);
      }
      return;
    }
    for (int i = 0; i < n; i++) {
      Event event;
      try {
        event = batch.event(i);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        // Not an Event at all: keep its bytes as the payload of a dead letter, with the reason.
        deadLetter(Event.newBuilder().setPayload(batch.eventBytes(i)).build(),
            "malformed event bytes: " + e.getMessage());
        continue;
      }
      process(event);
    }
  }

  /** The events of one input batch have been processed. */
  public void endOfBatch() {
    if (raw != null) {
      raw.endOfBatch(out);
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
    out.emit("", codec.encode(r, definition.keyOut(), definition.valueOut(), current));
  }

  @Override
  public <K, V> void forward(OutputTag<K, V> output, Record<K, V> record) {
    out.emit(output.name(), codec.encode(record, output.keySerde(), output.valueSerde(), current));
  }

  @Override
  public void deadLetter(String reason) {
    if (current == null) {
      throw new IllegalStateException("deadLetter() is only valid while processing a record");
    }
    deadLetter(current, reason);
  }

  private void deadLetter(Event event, String reason) {
    metrics.deadLettered();
    out.emit(
        OutputTag.DEAD_LETTER,
        event.toBuilder().putAttributes("error", reason).putAttributes("stage", stageName).build());
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
