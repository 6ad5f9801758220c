package io.sluice.runtime.internal.state;

import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointDecline;
import io.sluice.proto.v1.CheckpointMode;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.StageReport;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CheckpointStore;
import io.sluice.runtime.internal.metrics.CheckpointFigures;
import io.sluice.runtime.internal.task.Subtask;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The asynchronous half of an instance's snapshot: the subtask hands over the collected state at
 * the barrier and goes on processing; this writes the state file on the snapshot thread and acks
 * the checkpoint to the coordinator, or declines it when the file cannot be written. Either way
 * it tells {@link CheckpointFigures} what the instance's part of the checkpoint cost.
 *
 * <p>Threading: {@link #snapshotTaken} from the subtask thread; the writes run on the given
 * executor, one at a time, in checkpoint order.
 */
public final class SnapshotWriter implements Subtask.Checkpoints {
  private static final Logger LOG = Logger.getLogger(SnapshotWriter.class.getName());

  private final CheckpointStore store;
  private final Executor executor;
  private final StateFileHeader header;
  private final boolean exactlyOnce;
  private final int maxParallelism;
  private final long epoch;
  private final Consumer<StageReport> reports;
  private final CheckpointFigures figures;

  public SnapshotWriter(
      CheckpointStore store,
      Executor executor,
      Registered registered,
      String stage,
      long epoch,
      KeyGroupRange keyGroups,
      int parallelism,
      int maxParallelism,
      Consumer<StageReport> reports,
      CheckpointFigures figures) {
    this.store = store;
    this.executor = executor;
    this.exactlyOnce = registered.getCheckpoints().getMode() != CheckpointMode.CHECKPOINT_MODE_AT_LEAST_ONCE;
    this.maxParallelism = maxParallelism;
    this.epoch = epoch;
    this.reports = reports;
    this.figures = figures;
    this.header = StateFileHeader.newBuilder()
        .setPipeline(registered.getPipeline())
        .setStage(stage)
        .setInstanceId(registered.getInstanceId())
        .setInstanceIndex(registered.getIndex())
        .setParallelism(parallelism)
        .setMaxParallelism(maxParallelism)
        .setKeyGroups(keyGroups)
        .build();
  }

  @Override
  public boolean exactlyOnce() {
    return exactlyOnce;
  }

  @Override
  public int maxParallelism() {
    return maxParallelism;
  }

  @Override
  public void snapshotTaken(long checkpointId, boolean savepoint, StateCollector<?> state,
      long alignmentNanos, long syncNanos) {
    // The time waiting for the snapshot thread is part of the instance's checkpoint duration.
    long handedOverAt = System.nanoTime();
    try {
      executor.execute(() -> write(checkpointId, savepoint, state, alignmentNanos, syncNanos, handedOverAt));
    } catch (RejectedExecutionException e) {
      LOG.fine(header.getInstanceId() + ": checkpoint " + checkpointId + " not written: closing");
    }
  }

  private void write(long checkpointId, boolean savepoint, StateCollector<?> state, long alignmentNanos,
      long syncNanos, long handedOverAt) {
    long t0 = System.nanoTime();
    StateHandle handle;
    long snapshotNanos;
    StageReport ack;
    try {
      handle = store.writeState(checkpointId, savepoint,
          header.toBuilder().setCheckpointId(checkpointId).build(), state.keyGroups(), state.operatorState());
      snapshotNanos = syncNanos + System.nanoTime() - t0;
      ack = StageReport.newBuilder().setCheckpointAck(CheckpointAck.newBuilder()
          .setCheckpointId(checkpointId)
          .addState(handle)
          .putAllSourcePositions(state.operatorState().getSourcePositionsMap())
          .setAlignmentMillis(alignmentNanos / 1_000_000)
          .setSnapshotMillis(snapshotNanos / 1_000_000)
          .setEpoch(epoch))
          .build();
    } catch (java.io.IOException | RuntimeException e) {
      LOG.log(Level.WARNING, header.getInstanceId() + ": cannot store checkpoint " + checkpointId, e);
      figures.declined(checkpointId); // before the decline leaves, as for an ack
      reports.accept(StageReport.newBuilder().setCheckpointDecline(CheckpointDecline.newBuilder()
          .setCheckpointId(checkpointId)
          .setReason(header.getInstanceId() + " could not store its state: " + e.getMessage()))
          .build());
      return;
    }
    // Recorded before the ack leaves, so whoever has seen the ack finds its figures; the duration
    // ends with the ack ready. A failure to record must not hold the ack back.
    try {
      figures.acked(checkpointId, alignmentNanos, snapshotNanos,
          alignmentNanos + syncNanos + (System.nanoTime() - handedOverAt), handle.getSizeBytes());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, header.getInstanceId() + ": checkpoint " + checkpointId + " figures not recorded", e);
    }
    reports.accept(ack);
    LOG.fine(() -> header.getInstanceId() + ": checkpoint " + checkpointId + " stored, "
        + handle.getSizeBytes() + " bytes");
  }
}
