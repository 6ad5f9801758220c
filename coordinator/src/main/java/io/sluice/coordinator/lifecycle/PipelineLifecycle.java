package io.sluice.coordinator.lifecycle;

import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.InstanceState;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Derives the {@link PipelineState} from the registry (and whether a drain was asked for), and
 * lets callers wait for the pipeline to finish.
 *
 * <p>Precedence: finished (every stage has instances and all of them finished), then restoring
 * (the recovery coordinator holds routes while instances restore; a dead instance during a
 * restore is what the restore is about), then degraded (an instance is dead), then draining, then
 * starting (a stage has fewer running instances than it wants), then running.
 *
 * <p>Thread-safe; {@link #awaitFinished} blocks the caller, nothing else does.
 */
public final class PipelineLifecycle {
  private static final List<InstanceState> UP = List.of(
      InstanceState.INSTANCE_STATE_RUNNING,
      InstanceState.INSTANCE_STATE_DRAINING,
      InstanceState.INSTANCE_STATE_FINISHED);

  private final InstanceRegistry registry;
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicBoolean restoring = new AtomicBoolean();
  private final CompletableFuture<Void> finished = new CompletableFuture<>();

  /** Watches {@code registry} for the moment the pipeline finishes. */
  public PipelineLifecycle(InstanceRegistry registry) {
    this.registry = registry;
    registry.addListener(this::checkFinished);
  }

  /** Records that a drain was asked for; true only the first time. */
  public boolean startDrain() {
    boolean first = draining.compareAndSet(false, true);
    checkFinished();
    return first;
  }

  public boolean draining() {
    return draining.get();
  }

  /** Set by the recovery coordinator while a restore holds the routes. */
  public void setRestoring(boolean restoring) {
    this.restoring.set(restoring);
  }

  /** The state now. */
  public PipelineState state() {
    List<InstanceSnapshot> instances = registry.instances();
    if (finished.isDone() || allFinished(instances)) {
      return PipelineState.FINISHED;
    }
    if (restoring.get()) {
      return PipelineState.RESTORING;
    }
    if (instances.stream().anyMatch(i -> i.state() == InstanceState.INSTANCE_STATE_DEAD)) {
      return PipelineState.DEGRADED;
    }
    if (draining.get()) {
      return PipelineState.DRAINING;
    }
    for (StageSpec stage : registry.spec().stages()) {
      int desired = registry.desiredParallelism(stage.name());
      long up = instances.stream()
          .filter(i -> i.stage().equals(stage.name()) && i.index() < desired)
          .filter(i -> UP.contains(i.state()))
          .count();
      if (up < desired) {
        return PipelineState.STARTING;
      }
    }
    return PipelineState.RUNNING;
  }

  /**
   * Waits until the pipeline has finished.
   *
   * @return true when it finished, false when the timeout passed first
   */
  public boolean awaitFinished(Duration timeout) throws InterruptedException {
    try {
      finished.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("the finished future never fails", e);
    }
  }

  /** Completes when the pipeline has finished; never fails. */
  public CompletableFuture<Void> finished() {
    return finished.copy();
  }

  private void checkFinished() {
    if (!finished.isDone() && allFinished(registry.instances())) {
      finished.complete(null);
    }
  }

  private boolean allFinished(List<InstanceSnapshot> instances) {
    if (instances.isEmpty()) {
      return false;
    }
    for (StageSpec stage : registry.spec().stages()) {
      if (instances.stream().noneMatch(i -> i.stage().equals(stage.name()))) {
        return false;
      }
    }
    return instances.stream().allMatch(i -> i.state() == InstanceState.INSTANCE_STATE_FINISHED);
  }
}
