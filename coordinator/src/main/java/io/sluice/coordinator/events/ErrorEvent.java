package io.sluice.coordinator.events;

import java.util.Locale;
import java.util.Objects;

/**
 * One error the coordinator observed. Immutable.
 *
 * @param atMillis when it was observed, epoch milliseconds
 * @param kind what happened
 * @param source what it concerns: an instance id, a stage name or {@code "checkpoint <n>"}
 * @param message a sentence for a person
 */
public record ErrorEvent(long atMillis, Kind kind, String source, String message) {

  /** What happened. */
  public enum Kind {
    /** An instance missed its heartbeats or its control stream closed. */
    INSTANCE_DEAD,
    /** A checkpoint or savepoint was aborted. */
    CHECKPOINT_ABORTED,
    /** An instance could not take part in a checkpoint. */
    CHECKPOINT_DECLINED,
    /** The pipeline started restoring from a checkpoint. */
    RESTORE_STARTED,
    /** A stage sent more events to its dead-letter output. */
    DEAD_LETTERS;

    /** {@code "instance_dead"}…, as {@code ErrorEvent.kind} spells it on the wire. */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public ErrorEvent {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(message, "message");
  }
}
