package io.sluice.coordinator.routing;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.Edge;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.OutputRoute;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.RouteTarget;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.partition.KeyGroups;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Computes the {@link RouteUpdate} of each instance from the spec and the registry, stamps it
 * with a version that only grows, and remembers what each instance was last given so that after
 * a registry change only the instances whose routes changed get a new update.
 *
 * <p>Targets of an edge are the downstream stage's registered instances below its desired
 * parallelism, by index. A dead target stays on hash and forward edges (its keys, or its
 * partner's events, have nowhere else to go; the sender holds back until it recovers) and is
 * dropped from round-robin and broadcast edges so the flow goes on. Finished targets are dropped.
 *
 * <p>Every update carries the current restore epoch ({@code RouteUpdate.epoch}; 0 when
 * checkpoints are off). A new epoch changes every instance's routes, so the next {@link
 * #issueChanged} gives every live instance an update.
 *
 * <p>Thread-safe: computing and stamping happen under one lock, so a higher version is always
 * computed from a registry state at least as new as a lower one.
 */
public final class RouteComputer {
  private static final KeyGroupRange NO_KEY_GROUPS = KeyGroupRange.getDefaultInstance();

  private final PipelineSpec spec;
  private final InstanceRegistry registry;
  private final LongSupplier epoch;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private long lastVersion;

  /** What each instance was last given, without the version; keyed by instance id. */
  @GuardedBy("lock")
  private final Map<String, Issued> issued = new HashMap<>();

  /** The current restore epoch (0 without checkpoints); what a registering instance starts at. */
  public long epoch() {
    return epoch.getAsLong();
  }

  /** Routes without epochs (checkpoints off): every update has epoch 0. */
  public RouteComputer(PipelineSpec spec, InstanceRegistry registry) {
    this(spec, registry, () -> 0);
  }

  /**
   * @param epoch the current restore epoch, read for every update; called under this class's
   *     lock, so it must neither block nor take a lock (a volatile read)
   */
  public RouteComputer(PipelineSpec spec, InstanceRegistry registry, LongSupplier epoch) {
    this.spec = spec;
    this.registry = registry;
    this.epoch = epoch;
  }

  /** The routes an instance should have now, with version 0 (not issued). */
  public RouteUpdate compute(String stage, int index) {
    StageSpec own = spec.stage(stage)
        .orElseThrow(() -> new IllegalArgumentException("no stage '" + stage + "'"));
    int parallelism = registry.desiredParallelism(stage);
    RouteUpdate.Builder update = RouteUpdate.newBuilder()
        .setEpoch(epoch.getAsLong())
        .setParallelism(parallelism)
        .setKeyGroups(keyGroups(index, parallelism));
    for (Edge edge : spec.edgesFrom(stage)) {
      update.addOutputs(route(edge));
    }
    Set<String> inputs = new LinkedHashSet<>();
    for (String upstream : own.upstreamStages()) {
      int upstreamParallelism = registry.desiredParallelism(upstream);
      for (int i = 0; i < upstreamParallelism; i++) {
        inputs.add(InstanceSnapshot.instanceId(upstream, i));
      }
    }
    update.addAllInputs(inputs);
    return update.build();
  }

  /**
   * Issues the current routes of one instance with a new version, whether or not they changed
   * (an instance that just registered needs its routes).
   */
  public RouteUpdate issue(InstanceSnapshot instance) {
    synchronized (lock) {
      RouteUpdate content = compute(instance.stage(), instance.index());
      return stamp(instance, content);
    }
  }

  /**
   * Issues new routes to every live instance whose routes differ from what it was last given,
   * each with a new version. Call after any registry change.
   *
   * @return the new updates by instance id, in registry order
   */
  public Map<String, RouteUpdate> issueChanged() {
    synchronized (lock) {
      Map<String, RouteUpdate> changed = new LinkedHashMap<>();
      for (InstanceSnapshot instance : registry.instances()) {
        if (!instance.live()) {
          continue;
        }
        RouteUpdate content = compute(instance.stage(), instance.index());
        Issued last = issued.get(instance.instanceId());
        if (last == null || last.session != instance.session() || !last.content.equals(content)) {
          changed.put(instance.instanceId(), stamp(instance, content));
        }
      }
      return changed;
    }
  }

  /**
   * Whether every output of an update has as many live targets as the downstream stage's
   * expected parallelism: then nothing the instance sends waits for a missing target.
   */
  public static boolean complete(RouteUpdate update, InstanceRegistry registry) {
    for (OutputRoute out : update.getOutputsList()) {
      long live = out.getTargetsList().stream()
          .filter(t -> registry.instance(t.getInstanceId())
              .map(i -> i.state() != InstanceState.INSTANCE_STATE_DEAD)
              .orElse(false))
          .count();
      if (live < out.getExpectedParallelism()) {
        return false;
      }
    }
    return true;
  }

  @GuardedBy("lock")
  private RouteUpdate stamp(InstanceSnapshot instance, RouteUpdate content) {
    issued.put(instance.instanceId(), new Issued(instance.session(), content));
    return content.toBuilder().setVersion(++lastVersion).build();
  }

  private OutputRoute route(Edge edge) {
    String down = edge.toStage();
    int parallelism = registry.desiredParallelism(down);
    OutputRoute.Builder route = OutputRoute.newBuilder()
        .setOutput(edge.output())
        .setToStage(down)
        .setPartitioning(edge.partitioning())
        .setExpectedParallelism(parallelism)
        .setMaxParallelism(spec.maxParallelism());
    boolean keepDead = edge.partitioning() == Partitioning.PARTITIONING_HASH
        || edge.partitioning() == Partitioning.PARTITIONING_FORWARD;
    for (InstanceSnapshot target : registry.instances(down)) {
      boolean dead = target.state() == InstanceState.INSTANCE_STATE_DEAD;
      boolean wanted = target.index() < parallelism
          && target.state() != InstanceState.INSTANCE_STATE_FINISHED
          && (keepDead || !dead)
          // Not before it serves: a stream opened too early fails and loses what it carried.
          && (dead || registry.isServing(target));
      if (wanted) {
        route.addTargets(RouteTarget.newBuilder()
            .setInstanceId(target.instanceId())
            .setIndex(target.index())
            .setEndpoint(target.endpoint())
            .setKeyGroups(KeyGroups.rangeFor(target.index(), parallelism, spec.maxParallelism())));
      }
    }
    return route.build();
  }

  /**
   * The key groups of instance {@code index}; none for an instance beyond the desired
   * parallelism (one that is leaving after a scale-in).
   */
  private KeyGroupRange keyGroups(int index, int parallelism) {
    return index < parallelism
        ? KeyGroups.rangeFor(index, parallelism, spec.maxParallelism())
        : NO_KEY_GROUPS;
  }

  /** The version of the last update issued; 0 before the first. */
  public long lastVersion() {
    synchronized (lock) {
      return lastVersion;
    }
  }

  /** Convenience for tests and logs: the target instance ids of one output route. */
  public static List<String> targetIds(OutputRoute route) {
    return route.getTargetsList().stream().map(RouteTarget::getInstanceId).toList();
  }

  /** What an instance was last given, and under which registration. */
  private record Issued(long session, RouteUpdate content) {}
}
