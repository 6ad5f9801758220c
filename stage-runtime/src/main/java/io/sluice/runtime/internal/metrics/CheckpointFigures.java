package io.sluice.runtime.internal.metrics;

/**
 * What one instance's part of each checkpoint cost, told once per checkpoint when the instance
 * acks or declines it. {@link MetricsEndpoint#checkpoints()} turns the figures into Prometheus
 * series.
 *
 * <p>Threading: implementations are thread-safe; the runtime calls them from the snapshot thread
 * (after the state file is written), never from the subtask thread, so a slow implementation
 * cannot hold up processing.
 */
public interface CheckpointFigures {
  /** Figures that go nowhere: for instances without a metrics endpoint, and tests. */
  CheckpointFigures NONE = new CheckpointFigures() {
    @Override
    public void acked(long checkpointId, long alignmentNanos, long snapshotNanos, long durationNanos,
        long sizeBytes) {}

    @Override
    public void declined(long checkpointId) {}
  };

  /**
   * The instance acked checkpoint {@code checkpointId}.
   *
   * @param alignmentNanos from the first barrier (a source: the trigger) until the snapshot could
   *     be taken: barriers of every input aligned and the operator's asynchronous work done
   * @param snapshotNanos taking the snapshot on the subtask thread plus writing the state file
   * @param durationNanos the instance's whole part: from the first barrier (or the trigger) to the
   *     ack, so alignment, snapshot and the wait for the snapshot thread
   * @param sizeBytes the stored size of the state written (sum over its state files)
   */
  void acked(long checkpointId, long alignmentNanos, long snapshotNanos, long durationNanos, long sizeBytes);

  /** The instance declined checkpoint {@code checkpointId} (its state could not be stored). */
  void declined(long checkpointId);
}
