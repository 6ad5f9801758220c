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
   * Called once after the last record of every input, before the end of the stream is passed
   * downstream: emit anything held back and release resources. Records forwarded here are
   * delivered.
   */
  default void close() {}
}
