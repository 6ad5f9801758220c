package io.sluice.coordinator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.spec.StageSpec;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.Restore;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.partition.KeyGroups;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every expected instance of a pipeline (index below its stage's replicas), attached to an
 * {@link InProcessCoordinator}, serving and routed: the pipeline is running. Acks and restore
 * answers as real instances send them. Confined to the test's thread.
 */
public final class RunningPipeline {
  public final InProcessCoordinator coordinator;
  private final Map<String, InstanceClient> instances = new LinkedHashMap<>();

  private RunningPipeline(InProcessCoordinator coordinator) {
    this.coordinator = coordinator;
  }

  /** Registers and serves every expected instance, in spec order; takes what they were sent. */
  public static RunningPipeline start(InProcessCoordinator coordinator) throws Exception {
    RunningPipeline pipeline = new RunningPipeline(coordinator);
    for (StageSpec stage : coordinator.spec.stages()) {
      for (int i = 0; i < stage.replicas(); i++) {
        InstanceClient client = coordinator.attach();
        client.registerAndAwait(stage.name(), i);
        client.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
        pipeline.instances.put(stage.name() + "-" + i, client);
      }
    }
    pipeline.drain();
    assertThat(coordinator.lifecycle.state()).isEqualTo(PipelineState.RUNNING);
    return pipeline;
  }

  /**
   * Every expected instance registers again with {@code epoch} (its coordinator was replaced)
   * and reports that it serves; none is sent routes.
   */
  public static RunningPipeline reattach(InProcessCoordinator coordinator, long epoch)
      throws Exception {
    RunningPipeline pipeline = new RunningPipeline(coordinator);
    for (StageSpec stage : coordinator.spec.stages()) {
      for (int i = 0; i < stage.replicas(); i++) {
        InstanceClient client = coordinator.attach();
        client.register(stage.name(), i, epoch);
        assertThat(client.next().hasRegistered()).isTrue();
        client.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
        pipeline.instances.put(stage.name() + "-" + i, client);
      }
    }
    return pipeline;
  }

  public InstanceClient get(String instanceId) {
    InstanceClient client = instances.get(instanceId);
    assertThat(client).as("instance %s", instanceId).isNotNull();
    return client;
  }

  /** Kills an instance (its control stream breaks, as when its process dies); forgets it. */
  public void kill(String instanceId) {
    get(instanceId).cancel();
    instances.remove(instanceId);
  }

  /** Replaces an instance's client (after it registered again). */
  public void put(String instanceId, InstanceClient client) {
    instances.put(instanceId, client);
  }

  public List<String> ids() {
    return List.copyOf(instances.keySet());
  }

  /** The source instances' ids. */
  public List<String> sourceIds() {
    return ids().stream()
        .filter(id -> coordinator.spec.stage(id.substring(0, id.lastIndexOf('-')))
            .orElseThrow().role() == StageFactory.Role.SOURCE)
        .toList();
  }

  /** Takes every pending command of every instance, by instance id. */
  public Map<String, List<Command>> drain() {
    Map<String, List<Command>> all = new LinkedHashMap<>();
    instances.forEach((id, client) -> all.put(id, client.pending()));
    return all;
  }

  /**
   * The ack instance {@code instanceId} sends for a checkpoint: one handle (100 bytes, its key
   * groups), alignment 10 ms × (index + 1), and for sources positions p1 = 10 + index and
   * p2 = 20 − index.
   */
  public CheckpointAck ackOf(String instanceId, long checkpointId, long epoch) {
    String stage = instanceId.substring(0, instanceId.lastIndexOf('-'));
    int index = Integer.parseInt(instanceId.substring(instanceId.lastIndexOf('-') + 1));
    StageSpec spec = coordinator.spec.stage(stage).orElseThrow();
    KeyGroupRange range =
        KeyGroups.rangeFor(index, spec.replicas(), coordinator.spec.maxParallelism());
    CheckpointAck.Builder ack = CheckpointAck.newBuilder()
        .setCheckpointId(checkpointId)
        .setEpoch(epoch)
        .addState(InMemoryCheckpointStore.handle(
            checkpointId, instanceId, range.getStart(), range.getEnd(), 100))
        .setAlignmentMillis(10L * (index + 1))
        .setSnapshotMillis(3);
    if (spec.role() == StageFactory.Role.SOURCE) {
      ack.putSourcePositions("p1", 10 + index).putSourcePositions("p2", 20 - index);
    }
    return ack.build();
  }

  /** Every instance acks the checkpoint (see {@link #ackOf}). */
  public void ackAll(long checkpointId, long epoch) {
    instances.forEach((id, client) -> client.ack(ackOf(id, checkpointId, epoch)));
  }

  /** Every instance answers its Restore successfully. */
  public void restoreDoneAll(long epoch, long checkpointId) {
    instances.values().forEach(c -> c.restoreDone(epoch, checkpointId, ""));
  }

  /** The one command of {@code kind} among {@code commands}. */
  public static Command only(List<Command> commands, Command.KindCase kind) {
    List<Command> of = commands.stream().filter(c -> c.getKindCase() == kind).toList();
    assertThat(of).as("exactly one %s in %s", kind, commands).hasSize(1);
    return of.get(0);
  }

  /** Every command of {@code kind} among {@code commands}. */
  public static List<Command> all(List<Command> commands, Command.KindCase kind) {
    List<Command> of = new ArrayList<>();
    commands.stream().filter(c -> c.getKindCase() == kind).forEach(of::add);
    return of;
  }

  /** The Restore each instance was sent, taking every pending command; none was sent routes. */
  public Map<String, Restore> restores() {
    Map<String, Restore> restores = new LinkedHashMap<>();
    drain().forEach((id, commands) -> {
      assertThat(all(commands, Command.KindCase.ROUTES)).as("routes to %s", id).isEmpty();
      restores.put(id, only(commands, Command.KindCase.RESTORE).getRestore());
    });
    return restores;
  }

  /** The routes each instance was sent last, taking every pending command. */
  public Map<String, RouteUpdate> lastRoutes() {
    Map<String, RouteUpdate> routes = new LinkedHashMap<>();
    drain().forEach((id, commands) -> {
      List<Command> updates = all(commands, Command.KindCase.ROUTES);
      assertThat(updates).as("routes for %s", id).isNotEmpty();
      routes.put(id, updates.get(updates.size() - 1).getRoutes());
    });
    return routes;
  }
}
