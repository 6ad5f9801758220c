package io.sluice.runtime.internal.task;

import java.util.EnumSet;
import java.util.Set;

/**
 * The life of a subtask, with its allowed transitions written out.
 *
 * <pre>
 * CREATED ─► RUNNING ─► CLOSING ─► FINISHED
 *    │          │          │
 *    └──────────┴──────────┴─────► STOPPED   (stop without draining, or a fatal error)
 * </pre>
 */
public enum SubtaskState {
  /** Built; its thread has not started. */
  CREATED,
  /** Taking input (once routes have arrived). */
  RUNNING,
  /** Every input ended: operator closed, EndOfStream sent, waiting for acknowledgements. */
  CLOSING,
  /** Every output acknowledged its end. */
  FINISHED,
  /** Stopped without a clean end. */
  STOPPED;

  private Set<SubtaskState> next() {
    return switch (this) {
      case CREATED -> EnumSet.of(RUNNING, STOPPED);
      case RUNNING -> EnumSet.of(CLOSING, STOPPED);
      case CLOSING -> EnumSet.of(FINISHED, STOPPED);
      case FINISHED, STOPPED -> EnumSet.noneOf(SubtaskState.class);
    };
  }

  /** The state after a transition to {@code target}; throws if it is not allowed. */
  public SubtaskState to(SubtaskState target) {
    if (!next().contains(target)) {
      throw new IllegalStateException("subtask cannot go from " + this + " to " + target);
    }
    return target;
  }
}
