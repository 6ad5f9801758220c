package io.sluice.runtime.api;

/**
 * A user-defined aggregate for the {@code window} stage ({@code aggregate: {java: my.Class}}), in
 * the shape of Flink's {@code AggregateFunction}: the window keeps one accumulator per key and
 * window, adds each event's value to it, and emits {@link #result} when the window fires.
 *
 * <p>Implementations need a public no-argument constructor. They may keep no state of their own
 * beyond configuration: all state lives in accumulators, which the runtime may merge (session
 * windows) and will snapshot (checkpoints), so accumulators should be small value objects.
 *
 * @param <V> the input value type (the event payload as JSON)
 * @param <A> the accumulator type
 * @param <R> the result type; serialized as JSON under the {@link #name()} field of the result
 */
public interface AggregateFunction<V, A, R> {
  /** A new, empty accumulator. */
  A createAccumulator();

  /**
   * Adds one value; may return the same accumulator, changed, or a new one.
   *
   * @throws IllegalArgumentException when the value cannot be aggregated: the event then goes to
   *     the dead-letter output with the exception's message, and the window is unchanged
   */
  A add(V value, A accumulator);

  /** Combines two accumulators (session windows that come to overlap). */
  A merge(A a, A b);

  /** The result for an accumulator; it is not changed by this call. */
  R result(A accumulator);

  /**
   * How accumulators are written to checkpoints. The default uses Java serialization, which works
   * for {@link java.io.Serializable} accumulators (a checkpoint of any other fails with a message
   * naming the class); override it with a compact, stable encoding for state that must survive
   * an upgrade of the class.
   */
  default Serde<A> accumulatorSerde() {
    return Serdes.javaSerialization();
  }

  /** The field name of the result in the window's output payload, e.g. "p95". */
  default String name() {
    return "result";
  }
}
