package io.sluice.coordinator;

import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.checkpoint.CoordinatorThread;
import io.sluice.coordinator.control.ControlListener;
import io.sluice.coordinator.recovery.RecoveryCoordinator;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointDecline;
import io.sluice.proto.v1.RestoreDone;
import java.util.List;

/**
 * Hands what the control plane hears to the checkpoint and recovery coordinators, on their
 * thread: gRPC callbacks must not wait for the store.
 *
 * <p>Thread-safe: it only posts.
 */
final class CheckpointEvents implements ControlListener {
  private final CoordinatorThread thread;
  private final CheckpointCoordinator checkpoints;
  private final RecoveryCoordinator recovery;

  CheckpointEvents(
      CoordinatorThread thread, CheckpointCoordinator checkpoints, RecoveryCoordinator recovery) {
    this.thread = thread;
    this.checkpoints = checkpoints;
    this.recovery = recovery;
  }

  @Override
  public void instancesDied(List<InstanceSnapshot> died) {
    // At once, on this thread: no route may go out around the dead before their restore.
    recovery.holdRoutesForRestore();
    thread.post("handling deaths", () -> {
      // The checkpoint first: aborted for the death itself, even where no restore follows.
      checkpoints.instancesDied(died);
      recovery.instancesDied(died);
    });
  }

  @Override
  public void checkpointAcknowledged(String instanceId, long session, CheckpointAck ack) {
    thread.post("an ack from " + instanceId,
        () -> checkpoints.acknowledged(instanceId, session, ack));
  }

  @Override
  public void checkpointDeclined(String instanceId, long session, CheckpointDecline decline) {
    thread.post("a decline from " + instanceId,
        () -> checkpoints.declined(instanceId, session, decline));
  }

  @Override
  public void restoreDone(String instanceId, long session, RestoreDone done) {
    thread.post("a RestoreDone from " + instanceId,
        () -> recovery.restoreDone(instanceId, session, done));
  }
}
