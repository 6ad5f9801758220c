package io.sluice.coordinator.control;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointDecline;
import io.sluice.proto.v1.RestoreDone;
import java.util.List;

/**
 * What the checkpoint and recovery coordinators hear from the control plane: checkpoint reports,
 * restore answers and deaths. Every method defaults to doing nothing; {@link #NONE} is the
 * listener of a pipeline without checkpoints.
 *
 * <p>Called on gRPC callback threads and the liveness thread, one report at a time per stream
 * but concurrently across streams: implementations must be thread-safe and must not block
 * (hand slow work, such as store I/O, to another thread). Reports come only from the current
 * session of an instance; those of a replaced stream are dropped before they get here.
 */
public interface ControlListener {
  /** Listens to nothing. */
  ControlListener NONE = new ControlListener() {};

  /**
   * These instances were just declared dead (stream broken or heartbeats missed). Called before
   * the routes around them are pushed, so a restore started here holds those routes.
   */
  default void instancesDied(List<InstanceSnapshot> died) {}

  /** An instance acked a checkpoint. */
  default void checkpointAcknowledged(String instanceId, long session, CheckpointAck ack) {}

  /** An instance declined a checkpoint. */
  default void checkpointDeclined(String instanceId, long session, CheckpointDecline decline) {}

  /** An instance answered a {@code Restore}. */
  default void restoreDone(String instanceId, long session, RestoreDone done) {}
}
