package io.sluice.runtime.internal.task;

import io.sluice.proto.v1.Event;

/**
 * An operator that works on wire events directly (pass-through, ingest, egress), skipping the
 * decode to records. Internal: built-in stages only. Same threading contract as {@link
 * io.sluice.runtime.api.Operator}.
 */
public interface RawOperator {
  /** Processes one event; emit results through {@code out}. */
  void process(Event event, Emitter out);

  /** Called once after the last event of every input. */
  default void close(Emitter out) {}

  /** Called after the events of one input batch: a chance to flush per batch. */
  default void endOfBatch(Emitter out) {}

  /** Whether the operator can take more now (e.g. egress subscribers are ready). */
  default boolean isReady() {
    return true;
  }

  /** Where a raw operator sends events. */
  interface Emitter {
    /** Sends to the main output ("") or a side output. */
    void emit(String output, Event event);
  }
}
