package io.sluice.runtime.api;

/**
 * The code of a stage: takes records in, forwards records out. Modelled on Kafka Streams'
 * {@code Processor}.
 *
 * <p>Threading: the runtime calls every method of one instance from one thread (the subtask's
 * mailbox thread), never concurrently, so an operator needs no locks. Methods must not block:
 * waiting on I/O or sleeping stalls the whole subtask and, through backpressure, everything
 * upstream of it.
 *
 * <p>Errors: an exception thrown from {@link #process} sends the input record to the dead-letter
 * output with the exception's message; the pipeline keeps running.
 *
 * @param <KIn> input key type
 * @param <VIn> input value type
 * @param <KOut> output key type
 * @param <VOut> output value type
 */
public interface Operator<KIn, VIn, KOut, VOut> {
  /** Called once before the first record; keep the context to forward with. */
  default void init(OperatorContext<KOut, VOut> context) {}

  /** Processes one record. */
  void process(Record<KIn, VIn> record);

  /**
   * A timer registered through {@link OperatorContext#timerService()} fired. Records forwarded
   * here travel ahead of the watermark that fired an event-time timer.
   *
   * @param key the key the timer was registered for
   * @param timestamp the timer's time, epoch millis
   * @param domain which clock fired it
   */
  default void onTimer(KIn key, long timestamp, TimeDomain domain) {}

  /**
   * The operator's watermark advanced to {@code watermark}: called after every event-time timer up
   * to it fired, and before the watermark is passed downstream. Operators that keep their own
   * event-time bookkeeping (instead of timers) act here.
   */
  default void onWatermark(long watermark) {}

  /**
   * The watermark hold: the smallest event time the operator may still forward later (from
   * asynchronous work in flight, say); {@link Long#MAX_VALUE} when it holds nothing back. The
   * runtime passes downstream at most {@code hold - 1}, and moves the watermark on when the hold
   * rises, so what the operator forwards late is never behind the watermark before it.
   */
  default long watermarkHold() {
    return Long.MAX_VALUE;
  }

  /**
   * Whether the operator takes more input now. An operator with asynchronous work in flight (calls
   * to an external service) returns false while it is at its concurrency bound; the runtime then
   * takes nothing from its inbox, so backpressure reaches upstream. Completions come back through
   * {@link OperatorContext#executor()}, after which the runtime asks again.
   */
  default boolean isReady() {
    return true;
  }

  /**
   * Whether asynchronous work is still in flight. After every input ended, the runtime keeps
   * running the operator's executor tasks and timers until this is false, then calls {@link
   * #close()}: nothing in flight is lost on a clean end.
   */
  default boolean hasPendingWork() {
    return false;
  }

  /**
   * A checkpoint reached this operator: every record before its barrier on every input has been
   * processed, none after it. Write what a restore needs to continue exactly where it is now
   * (keyed state per key, operator-wide state otherwise). Timers registered through {@link
   * OperatorContext#timerService()} are stored by the runtime; do not write them.
   *
   * <p>A sink with two-phase commit ends its current transaction here ("pre-commit": make its data
   * durable but not yet visible), records it in the state, and makes it visible in {@link
   * #checkpointComplete}. Asynchronous work has finished when this is called: the runtime waits
   * for {@link #hasPendingWork()} to be false first.
   */
  default void snapshotState(StateSnapshot<KIn> snapshot) {}

  /**
   * Called once, after {@link #init} and before anything else, when the instance starts from a
   * checkpoint or savepoint. Timers are back already. A sink commits here whatever its restored
   * state lists as pre-committed: the checkpoint that holds it completed.
   */
  default void restoreState(StateRestore<KIn> restore) {}

  /**
   * Checkpoint {@code checkpointId} completed everywhere (its metadata is stored). Sinks make the
   * data of every transaction up to it visible; the call may repeat for a checkpoint already
   * committed, and may skip checkpoints (a later one completing covers the earlier ones).
   */
  default void checkpointComplete(long checkpointId) {}

  /**
   * The runtime throws this operator away without finishing its input: the instance restores
   * from a checkpoint (a new operator takes over from the checkpoint's state), or stops. Release
   * files, connections and claims; do not commit or forward anything. Not called after {@link
   * #close()}.
   */
  default void dispose() {}

  /**
   * Called once after the last record of every input, before the end of the stream is passed
   * downstream: emit anything held back and release resources. Records forwarded here are
   * delivered.
   */
  default void close() {}
}
