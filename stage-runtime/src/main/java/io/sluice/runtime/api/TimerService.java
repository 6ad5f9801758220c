package io.sluice.runtime.api;

/**
 * Per-key timers, as in Flink's {@code TimerService}: a timer is a (key, timestamp, domain); when it
 * fires, the runtime calls {@link Operator#onTimer} with that key. Registering a timer that is
 * already registered does nothing, so an operator may register "the end of this window for this
 * key" once per record without bookkeeping of its own.
 *
 * <p>Event-time timers fire, in timestamp order, when the watermark reaches their timestamp
 * (watermark &gt;= timestamp), before the watermark is passed downstream; what {@code onTimer}
 * forwards therefore travels ahead of that watermark. Processing-time timers fire when the wall
 * clock reaches their timestamp. A timer whose time has already passed fires at the next
 * watermark (event time) or at once, on the operator's thread, after the current call returns
 * (processing time).
 *
 * <p>Threading: like the context, call it only from the operator's own methods.
 *
 * @param <K> the key type: the operator's input key type
 */
public interface TimerService<K> {
  /** Registers an event-time timer for {@code key} at {@code timestamp} (epoch millis). */
  void registerEventTimeTimer(K key, long timestamp);

  /** Deletes an event-time timer; does nothing if there is none. */
  void deleteEventTimeTimer(K key, long timestamp);

  /** Registers a processing-time timer for {@code key} at wall-clock {@code timestamp}. */
  void registerProcessingTimeTimer(K key, long timestamp);

  /** Deletes a processing-time timer; does nothing if there is none. */
  void deleteProcessingTimeTimer(K key, long timestamp);

  /** The operator's current watermark; {@link Long#MIN_VALUE} before the first one. */
  long currentWatermark();

  /** The wall clock, epoch millis (a fake clock in the test kit). */
  long currentProcessingTime();
}
