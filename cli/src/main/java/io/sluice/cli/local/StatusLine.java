package io.sluice.cli.local;

import io.sluice.cli.status.Formats;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;

/**
 * The one-line live status {@code sluice up} redraws every second: the pipeline's state and global
 * watermark, then per stage the running/desired instances and the summed input and output rates.
 * Stateless.
 */
public final class StatusLine {
  private StatusLine() {}

  /**
   * e.g. {@code clicks running wm 2026-01-01T00:00:05.000Z | in 1/1 0->1.2k/s | buys 1/1
   * 1.2k->240/s}; the watermark reads {@code wm -} while unknown.
   */
  public static String format(PipelineStatus s) {
    StringBuilder sb = new StringBuilder();
    sb.append(s.getPipeline()).append(' ').append(s.getState());
    sb.append(" wm ").append(Formats.watermark(s.getGlobalWatermark()));
    for (StageStatus stage : s.getStagesList()) {
      long running = 0;
      double in = 0;
      double out = 0;
      int dead = 0;
      for (InstanceStatus i : stage.getInstancesList()) {
        if (i.getState() == InstanceState.INSTANCE_STATE_RUNNING) {
          running++;
        } else if (i.getState() == InstanceState.INSTANCE_STATE_DEAD) {
          dead++;
        }
        in += i.getRecordsInPerSecond();
        out += i.getRecordsOutPerSecond();
      }
      sb.append(" | ")
          .append(stage.getName())
          .append(' ')
          .append(running)
          .append('/')
          .append(stage.getDesiredParallelism());
      if (dead > 0) {
        sb.append(" (").append(dead).append(" dead)");
      }
      sb.append(' ').append(Formats.rate(in)).append("->").append(Formats.rate(out)).append("/s");
    }
    return sb.toString();
  }
}
