package io.sluice.runtime.api;

import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * What an operator can do besides receiving records. Thread-confined: call it only from the
 * operator's own methods (the subtask's thread).
 *
 * @param <KOut> the main output's key type
 * @param <VOut> the main output's value type
 */
public interface OperatorContext<KOut, VOut> {
  /** The stage's name in the pipeline spec. */
  String stageName();

  /** This instance's id, e.g. "count-1". */
  String instanceId();

  /** This instance's index among the stage's replicas, from 0. */
  int instanceIndex();

  /** Sends a record to the main output. */
  void forward(Record<? extends KOut, ? extends VOut> record);

  /** Sends a record to a named side output. */
  <K, V> void forward(OutputTag<K, V> output, Record<K, V> record);

  /**
   * Sends the input record currently being processed to the dead-letter output with a reason. The
   * dead letter carries the original event's bytes unchanged and the reason in the {@code error}
   * attribute.
   */
  void deadLetter(String reason);

  /**
   * Calls {@code callback} every {@code interval} of wall-clock (processing) time on the operator's
   * thread, until cancelled or the operator closes.
   */
  Cancellable schedule(Duration interval, Runnable callback);

  /** Milliseconds since the epoch by the runtime's clock (a fake clock in the test kit). */
  long currentTimeMillis();

  /**
   * Sends an input record to the dead-letter output with a reason, at any later point on the
   * operator's thread (an asynchronous call that gave up, say). {@code input} must be a record the
   * operator received, or one derived from it: a record still carrying the event it was decoded from
   * is sent as those bytes, others are encoded with the stage's input serdes.
   */
  void deadLetter(Record<?, ?> input, String reason);

  /**
   * Per-key timers keyed by the operator's input key type ({@code K} must be that type), fired
   * through {@link Operator#onTimer}.
   */
  <K> TimerService<K> timerService();

  /** The operator's event-time watermark; {@link Long#MIN_VALUE} before the first one. */
  long currentWatermark();

  /**
   * Runs tasks on the operator's thread, in submission order; callable from any thread. This is
   * how asynchronous work (a reply from an external service) comes back to the operator, which may
   * then forward, dead-letter or touch its state from the task as from its own methods.
   */
  Executor executor();
}
