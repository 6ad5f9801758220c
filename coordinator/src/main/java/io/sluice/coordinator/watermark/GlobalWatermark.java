package io.sluice.coordinator.watermark;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.WatermarkReport;
import java.util.List;
import java.util.Optional;

/**
 * The global event-time watermark: the minimum over the instances that are neither idle nor
 * finished. It is unknown ({@link Long#MIN_VALUE}) while any such instance has not reported yet,
 * or when every instance is idle or finished. Stateless and thread-safe.
 */
public final class GlobalWatermark {
  /** What {@code PipelineStatus.global_watermark} says when the watermark is unknown. */
  public static final long UNKNOWN = Long.MIN_VALUE;

  private GlobalWatermark() {}

  public static long of(List<InstanceSnapshot> instances) {
    long min = Long.MAX_VALUE;
    boolean any = false;
    for (InstanceSnapshot instance : instances) {
      if (instance.state() == InstanceState.INSTANCE_STATE_FINISHED) {
        continue; // its end has passed everything downstream; it holds nothing back
      }
      Optional<WatermarkReport> report = instance.watermark();
      if (report.isEmpty()) {
        return UNKNOWN;
      }
      if (report.get().getIdle()) {
        continue;
      }
      any = true;
      min = Math.min(min, report.get().getWatermark());
    }
    return any ? min : UNKNOWN;
  }
}
