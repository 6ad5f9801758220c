package io.sluice.coordinator.events;

import io.sluice.coordinator.control.ControlListener;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointDecline;
import io.sluice.proto.v1.RestoreDone;
import java.util.List;

/**
 * Records deaths and checkpoint declines in the {@link ErrorLog}, then hands every report on to
 * the next listener unchanged: the control plane is where both are first seen.
 *
 * <p>Thread-safe, does not block: the log is, and the next listener must be.
 */
public final class ErrorReportingListener implements ControlListener {
  private final InstanceRegistry registry;
  private final ErrorLog errors;
  private final ControlListener next;

  /**
   * @param registry where the reason of a death is read (the dead snapshots handed over are
   *     those from just before)
   * @param next the checkpoint and recovery coordinators' listener, or {@link ControlListener#NONE}
   */
  public ErrorReportingListener(InstanceRegistry registry, ErrorLog errors, ControlListener next) {
    this.registry = registry;
    this.errors = errors;
    this.next = next;
  }

  @Override
  public void instancesDied(List<InstanceSnapshot> died) {
    for (InstanceSnapshot instance : died) {
      String reason = registry.instance(instance.instanceId())
          .map(InstanceSnapshot::stateReason)
          .filter(r -> !r.isEmpty())
          .orElse("declared dead");
      errors.record(ErrorEvent.Kind.INSTANCE_DEAD, instance.instanceId(), reason);
    }
    next.instancesDied(died);
  }

  @Override
  public void checkpointAcknowledged(String instanceId, long session, CheckpointAck ack) {
    next.checkpointAcknowledged(instanceId, session, ack);
  }

  @Override
  public void checkpointDeclined(String instanceId, long session, CheckpointDecline decline) {
    errors.record(ErrorEvent.Kind.CHECKPOINT_DECLINED, instanceId,
        "declined checkpoint " + decline.getCheckpointId() + ": " + decline.getReason());
    next.checkpointDeclined(instanceId, session, decline);
  }

  @Override
  public void restoreDone(String instanceId, long session, RestoreDone done) {
    next.restoreDone(instanceId, session, done);
  }
}
