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

  /**
   * Whether the operator takes events as the serialized bytes they arrived as ({@link
   * #processRaw}); then the runtime parses nothing for it.
   */
  default boolean handlesRawBytes() {
    return false;
  }

  /** Processes one serialized event; only called when {@link #handlesRawBytes()} is true. */
  default void processRaw(com.google.protobuf.ByteString event, Emitter out) {
    throw new UnsupportedOperationException("this operator takes parsed events");
  }

  /** Where a raw operator sends events. */
  interface Emitter {
    /** Sends to the main output ("") or a side output. */
    void emit(String output, Event event);

    /** Sends a serialized event as it is (the router forwards the bytes without re-encoding). */
    default void emitRaw(String output, com.google.protobuf.ByteString event) {
      try {
        emit(output, Event.parseFrom(event));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new IllegalArgumentException("malformed event bytes: " + e.getMessage(), e);
      }
    }
  }
}
