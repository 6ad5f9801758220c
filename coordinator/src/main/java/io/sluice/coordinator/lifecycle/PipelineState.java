package io.sluice.coordinator.lifecycle;

import java.util.Locale;

/**
 * The state of a whole pipeline, as {@code PipelineStatus.state} spells it.
 *
 * <p>Transitions: STARTING → RUNNING once every stage has its desired number of running
 * instances; RUNNING ⇄ DEGRADED while an instance is dead; with checkpoints, any but DRAINING
 * and FINISHED → RESTORING while the instances load a checkpoint (routes are held), then back;
 * any → DRAINING when a drain is asked for; DRAINING → FINISHED when every instance has finished
 * (a pipeline whose sources end by themselves may also reach FINISHED without a drain). FINISHED
 * is final. Immutable.
 */
public enum PipelineState {
  STARTING,
  RUNNING,
  DEGRADED,
  /** A restore is under way: instances load a checkpoint and wait for routes of a new epoch. */
  RESTORING,
  DRAINING,
  FINISHED;

  /** "starting", "running", "degraded", "restoring", "draining" or "finished". */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
