package io.sluice.coordinator.watermark;

import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.WatermarkReport;
import io.sluice.runtime.api.StageFactory;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The watermark source alignment holds fast sources to ({@code AlignWatermarks}, DESIGN "Event
 * time"): the minimum over the pipeline's source instances that are neither idle nor finished nor
 * dead. It is unknown ({@link #UNKNOWN}) while such an instance has not reported a watermark yet,
 * and when none is left: unknown holds no source back, so a source that has not started yet, or
 * the last one still running, is never stalled by alignment.
 *
 * <p>Dead instances are left out (unlike in {@link GlobalWatermark}): a dead source takes no
 * input, so holding the others to its last watermark would stall the pipeline until it returns.
 *
 * <p>Stateless and thread-safe.
 */
public final class SlowestSourceWatermark {
  /** {@code AlignWatermarks.slowest_source_watermark} when unknown: INT64_MIN. */
  public static final long UNKNOWN = Long.MIN_VALUE;

  private SlowestSourceWatermark() {}

  /** The names of the stages whose type has the SOURCE role, in spec order. */
  public static Set<String> sourceStages(PipelineSpec spec) {
    return spec.stages().stream()
        .filter(s -> s.role() == StageFactory.Role.SOURCE)
        .map(StageSpec::name)
        .collect(Collectors.toCollection(LinkedHashSet::new));
  }

  /**
   * The slowest source watermark.
   *
   * @param instances instances of any stages (others than {@code sourceStages} are skipped)
   * @param sourceStages the names of the pipeline's source stages ({@link #sourceStages})
   * @return epoch millis, or {@link #UNKNOWN}
   */
  public static long of(List<InstanceSnapshot> instances, Set<String> sourceStages) {
    long min = Long.MAX_VALUE;
    boolean any = false;
    for (InstanceSnapshot instance : instances) {
      if (!sourceStages.contains(instance.stage()) || !instance.live()) {
        continue; // not a source, or finished or dead: it holds nothing back
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
