package io.sluice.coordinator.dashboard;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.watermark.GlobalWatermark;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.StageStatus;

/**
 * One stage's figures summed or averaged over its instances, as the dashboard shows them.
 * Immutable.
 *
 * <p>Rates and ratios cover the live instances (starting, running or draining: a starting one may
 * already process); dead and finished ones keep their last report, which is not current.
 *
 * @param running instances in state RUNNING
 * @param recordsInPerSecond events/s taken in, summed over the live instances
 * @param recordsOutPerSecond events/s sent, summed
 * @param busyRatio the mean over live instances (0 with none)
 * @param backpressuredRatio the mean over live instances: a stage whose replicas wait on their
 *     outputs half of the time or more is backpressured
 * @param maxBackpressuredRatio the highest of any live instance, to spot one hot replica
 * @param deadLetters events dead-lettered since start, summed
 * @param watermark the minimum over instances that reported one and are not idle; {@link
 *     GlobalWatermark#UNKNOWN} when none has
 */
public record StageFigures(
    int running,
    double recordsInPerSecond,
    double recordsOutPerSecond,
    double busyRatio,
    double backpressuredRatio,
    double maxBackpressuredRatio,
    long deadLetters,
    long watermark) {

  /** From this ratio on, the dashboard shows a stage as backpressured. */
  public static final double BACKPRESSURED = 0.5;

  /** The figures of one stage of a {@code PipelineStatus}. */
  public static StageFigures of(StageStatus stage) {
    int running = 0;
    int live = 0;
    double in = 0;
    double out = 0;
    double busy = 0;
    double backpressured = 0;
    double maxBackpressured = 0;
    long deadLetters = 0;
    long watermark = Long.MAX_VALUE;
    boolean anyWatermark = false;
    for (InstanceStatus i : stage.getInstancesList()) {
      deadLetters += i.getDeadLetters();
      if (i.getState() == InstanceState.INSTANCE_STATE_RUNNING) {
        running++;
      }
      if (!InstanceSnapshot.isLive(i.getState())) {
        continue;
      }
      live++;
      in += i.getRecordsInPerSecond();
      out += i.getRecordsOutPerSecond();
      busy += i.getBusyRatio();
      backpressured += i.getBackpressuredRatio();
      maxBackpressured = Math.max(maxBackpressured, i.getBackpressuredRatio());
      if (i.getWatermark() != GlobalWatermark.UNKNOWN && !i.getWatermarkIdle()) {
        watermark = Math.min(watermark, i.getWatermark());
        anyWatermark = true;
      }
    }
    return new StageFigures(running, in, out, live == 0 ? 0 : busy / live,
        live == 0 ? 0 : backpressured / live, maxBackpressured, deadLetters,
        anyWatermark ? watermark : GlobalWatermark.UNKNOWN);
  }

  /** Whether the dashboard shows the stage in the warning colour. */
  public boolean backpressured() {
    return backpressuredRatio >= BACKPRESSURED;
  }

  /**
   * The stage's throughput for the plots: events/s taken in, or, for a source (which takes
   * nothing in over a channel), events/s sent.
   */
  public double rate(boolean source) {
    return source ? recordsOutPerSecond : recordsInPerSecond;
  }
}
