package io.sluice.coordinator.control;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.watermark.SlowestSourceWatermark;
import io.sluice.proto.v1.AlignWatermarks;
import io.sluice.proto.v1.Command;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Source alignment's delivery: keeps the slowest source watermark ({@link SlowestSourceWatermark})
 * as last sent, and sends {@code AlignWatermarks} to every live source instance whenever it
 * changes, and the current value to a source instance whose stream just attached.
 *
 * <p>Thread-safe: recomputing and sending happen under one lock, so the values reach every stream
 * in the order they were computed and the last one sent reflects the registry at least as recent
 * as every change that asked for a recomputation. Under the lock it only reads the registry and
 * writes to streams, neither of which blocks or calls back.
 */
final class SourceAligner {
  private static final System.Logger LOG = System.getLogger(SourceAligner.class.getName());

  private final InstanceRegistry registry;
  private final CommandBus bus;
  private final Set<String> sourceStages;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private long slowest = SlowestSourceWatermark.UNKNOWN;

  SourceAligner(InstanceRegistry registry, CommandBus bus) {
    this.registry = registry;
    this.bus = bus;
    this.sourceStages = SlowestSourceWatermark.sourceStages(registry.spec());
  }

  /** Whether the stage's instances are sources, which alignment concerns. */
  boolean isSource(String stage) {
    return sourceStages.contains(stage);
  }

  /**
   * Recomputes the slowest source watermark from the registry and, when it changed, sends it to
   * every live source instance. Call after any change that may move it: a source's watermark
   * report, or an instance's registration or state change.
   */
  void refresh() {
    synchronized (lock) {
      refreshLocked();
    }
  }

  /**
   * A source instance's stream has attached: it gets the current value (a source re-registering
   * after a broken stream may still hold an old one), unless a change computed now already went
   * to every source, this one included.
   */
  void attached(OutboundStream stream) {
    synchronized (lock) {
      if (!refreshLocked()) {
        stream.send(command(slowest));
      }
    }
  }

  /** Returns whether the value changed (and so was sent to every live source). */
  @GuardedBy("lock")
  private boolean refreshLocked() {
    List<InstanceSnapshot> instances = registry.instances();
    long now = SlowestSourceWatermark.of(instances, sourceStages);
    if (now == slowest) {
      return false;
    }
    slowest = now;
    Command align = command(now);
    List<String> told = new ArrayList<>();
    for (InstanceSnapshot instance : instances) {
      if (sourceStages.contains(instance.stage()) && instance.live()
          && bus.send(instance.instanceId(), align)) {
        told.add(instance.instanceId());
      }
    }
    // Debug only: with watermarks reported every 200 ms this changes several times a second.
    LOG.log(System.Logger.Level.DEBUG, () -> "slowest source watermark is now "
        + (now == SlowestSourceWatermark.UNKNOWN ? "unknown" : Long.toString(now)) + "; told "
        + told);
    return true;
  }

  private static Command command(long slowestSourceWatermark) {
    return Command.newBuilder()
        .setAlignWatermarks(
            AlignWatermarks.newBuilder().setSlowestSourceWatermark(slowestSourceWatermark))
        .build();
  }
}
