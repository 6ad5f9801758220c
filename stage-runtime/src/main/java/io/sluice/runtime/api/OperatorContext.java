package io.sluice.runtime.api;

import java.time.Duration;

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
}
