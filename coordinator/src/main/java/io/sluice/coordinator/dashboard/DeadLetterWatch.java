package io.sluice.coordinator.dashboard;

import io.sluice.coordinator.events.ErrorEvent;
import io.sluice.coordinator.events.ErrorLog;
import java.util.HashMap;
import java.util.Map;

/**
 * Records an error each time a stage's dead-letter count has grown since the last look: dead
 * letters arrive as counters in the instances' metrics, so the growth is only seen by comparing
 * samples.
 *
 * <p>Confined to the sampler's thread.
 */
final class DeadLetterWatch {
  private final ErrorLog errors;
  private final Map<String, Long> lastSeen = new HashMap<>();

  DeadLetterWatch(ErrorLog errors) {
    this.errors = errors;
  }

  /** Compares a stage's dead-letter count (summed over its instances) with the last one seen. */
  void observe(String stage, long deadLetters) {
    Long before = lastSeen.put(stage, deadLetters);
    // A restarted instance counts from 0 again: a drop is not news, and neither is the first look.
    if (before != null && deadLetters > before) {
      long added = deadLetters - before;
      errors.record(ErrorEvent.Kind.DEAD_LETTERS, stage, added + " more event"
          + (added == 1 ? "" : "s") + " dead-lettered (" + deadLetters + " in all)");
    }
  }
}
