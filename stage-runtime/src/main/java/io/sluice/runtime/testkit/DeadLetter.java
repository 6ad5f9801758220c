package io.sluice.runtime.testkit;

import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.TraceParent;
import java.util.Objects;

/**
 * An input that a stage sent to its dead-letter output, as {@link OperatorTestDriver} captured it:
 * the input event exactly as it arrived (bytes unchanged) and the reason. Immutable and
 * thread-safe.
 *
 * @param input the dead-lettered input event, without the {@code error} and {@code stage}
 *     attributes
 * @param reason why the stage could not process it
 * @param stage the name of the stage that dead-lettered it
 */
public record DeadLetter(Event input, String reason, String stage) {
  /**
   * The attribute that carries the reason on a dead letter downstream (see {@link
   * io.sluice.runtime.api.OperatorContext#deadLetter}); sinks write it as the line's {@code
   * "error"}.
   */
  public static final String ERROR_ATTRIBUTE = "error";

  /** The attribute that names the stage that dead-lettered an event. */
  public static final String STAGE_ATTRIBUTE = "stage";

  public DeadLetter {
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(stage, "stage");
  }

  /** The input's key, decoded as UTF-8. */
  public String keyAsString() {
    return input.getKey().toStringUtf8();
  }

  /** The input's payload, decoded as UTF-8. */
  public String payloadAsString() {
    return input.getPayload().toStringUtf8();
  }

  /**
   * The event as the dead-letter output carries it downstream: the input plus the {@code error}
   * and {@code stage} attributes.
   */
  public Event toEvent() {
    return input.toBuilder().putAttributes(ERROR_ATTRIBUTE, reason).putAttributes(STAGE_ATTRIBUTE, stage).build();
  }

  /**
   * The dead letter as a raw record, as a stage reading the dead-letter output with byte serdes
   * receives it; handy to pipe into a sink under test.
   */
  public Record<byte[], byte[]> toRecord() {
    Event e = toEvent();
    TraceParent trace =
        e.hasTrace() && e.getTrace().getTraceId().size() == 16 && e.getTrace().getSpanId().size() == 8
            ? TraceParent.fromBytes(
                e.getTrace().getTraceId().toByteArray(),
                e.getTrace().getSpanId().toByteArray(),
                e.getTrace().getTraceFlags(),
                e.getTrace().getTraceState())
            : null;
    return new Record<>(
        e.getId(),
        e.getKey().toByteArray(),
        e.getPayload().toByteArray(),
        e.getEventTime(),
        e.getAttributesMap(),
        trace);
  }
}
