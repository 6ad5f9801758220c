package io.sluice.coordinator.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.testing.FakeTicker;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.OutputRoute;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.Register;
import io.sluice.proto.v1.RouteTarget;
import io.sluice.proto.v1.RouteUpdate;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteComputerTest {
  // One stage read over each kind of edge, so dead-target handling shows per partitioning.
  private final PipelineSpec spec = Specs.parse("""
      pipeline: p
      maxParallelism: 8
      stages:
        - {name: in, type: ingest}
        - {name: keyed, type: count, from: in, replicas: 3}
        - {name: rr, type: filter, from: {stage: in, partition: round_robin}, replicas: 2}
        - {name: bc, type: filter, from: {stage: in, partition: broadcast}, replicas: 2}
        - {name: fw, type: filter, from: {stage: in, partition: forward}, replicas: 2}
        - name: out
          type: file-sink
          path: out.jsonl
          from: [keyed, {stage: rr, output: dead-letter}]
      """);
  private final InstanceRegistry registry = new InstanceRegistry(spec, new FakeTicker());
  private final RouteComputer routes = new RouteComputer(spec, registry);

  private InstanceSnapshot register(String stage, int index) {
    return registry.register(Register.newBuilder()
        .setStage(stage)
        .setRequestedIndex(index)
        .setEndpoint(Endpoint.newBuilder().setHost("h-" + stage).setPort(9000 + index))
        .build());
  }

  /** Registers an instance that then reports RUNNING: its services are up, so it is routed to. */
  private InstanceSnapshot serving(String stage, int index) {
    InstanceSnapshot registered = register(stage, index);
    assertThat(registry.reportState(registered.instanceId(), registered.session(),
        InstanceState.INSTANCE_STATE_RUNNING, "serving")).isTrue();
    return registry.instance(registered.instanceId()).orElseThrow();
  }

  private static KeyGroupRange range(int start, int end) {
    return KeyGroupRange.newBuilder().setStart(start).setEnd(end).build();
  }

  private static OutputRoute output(RouteUpdate update, String toStage) {
    return update.getOutputsList().stream()
        .filter(o -> o.getToStage().equals(toStage))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no route to " + toStage + " in " + update));
  }

  /** Every instance of every stage, each serving. */
  private void registerAll() {
    serving("in", 0);
    for (int i = 0; i < 3; i++) {
      serving("keyed", i);
    }
    for (String s : new String[] {"rr", "bc", "fw"}) {
      serving(s, 0);
      serving(s, 1);
    }
    serving("out", 0);
  }

  @Test
  void hashTargetsOwnContiguousKeyGroupRanges() {
    registerAll();
    OutputRoute keyed = output(routes.compute("in", 0), "keyed");
    assertThat(keyed.getOutput()).isEmpty();
    assertThat(keyed.getPartitioning()).isEqualTo(Partitioning.PARTITIONING_HASH);
    assertThat(keyed.getExpectedParallelism()).isEqualTo(3);
    assertThat(keyed.getMaxParallelism()).isEqualTo(8);
    // [i*8/3, (i+1)*8/3): [0,2) [2,5) [5,8)
    assertThat(keyed.getTargetsList()).extracting(RouteTarget::getKeyGroups)
        .containsExactly(range(0, 2), range(2, 5), range(5, 8));
    assertThat(keyed.getTargetsList()).extracting(RouteTarget::getInstanceId)
        .containsExactly("keyed-0", "keyed-1", "keyed-2");
    assertThat(keyed.getTargets(2).getEndpoint())
        .isEqualTo(Endpoint.newBuilder().setHost("h-keyed").setPort(9002).build());

    RouteUpdate own = routes.compute("keyed", 1);
    assertThat(own.getKeyGroups()).isEqualTo(range(2, 5));
    assertThat(own.getParallelism()).isEqualTo(3);
    assertThat(own.getInputsList()).containsExactly("in-0");
  }

  @Test
  void targetsAreOnlyTheServingOnesWhileExpectedParallelismSaysHowManyToWaitFor() {
    serving("keyed", 2);
    OutputRoute keyed = output(routes.compute("in", 0), "keyed");
    assertThat(keyed.getExpectedParallelism()).isEqualTo(3);
    assertThat(keyed.getTargetsList()).extracting(RouteTarget::getInstanceId)
        .containsExactly("keyed-2");
  }

  @Test
  void inputsListEveryUpstreamInstanceBeforeAnyoneRegisters() {
    RouteUpdate out = routes.compute("out", 0);
    assertThat(out.getInputsList())
        .containsExactly("keyed-0", "keyed-1", "keyed-2", "rr-0", "rr-1");
    assertThat(out.getOutputsList()).isEmpty();
    assertThat(output(routes.compute("rr", 1), "out").getOutput()).isEqualTo("dead-letter");
  }

  @Test
  void deadTargetsStayOnHashAndForwardEdgesOnly() {
    registerAll();
    for (String stage : new String[] {"keyed", "rr", "bc", "fw"}) {
      InstanceSnapshot one = registry.instance(stage + "-1").orElseThrow();
      registry.markDead(one.instanceId(), one.session(), "test");
    }
    RouteUpdate in = routes.compute("in", 0);
    assertThat(RouteComputer.targetIds(output(in, "keyed")))
        .containsExactly("keyed-0", "keyed-1", "keyed-2");
    assertThat(RouteComputer.targetIds(output(in, "fw"))).containsExactly("fw-0", "fw-1");
    assertThat(RouteComputer.targetIds(output(in, "rr"))).containsExactly("rr-0");
    assertThat(RouteComputer.targetIds(output(in, "bc"))).containsExactly("bc-0");
    assertThat(RouteComputer.complete(in, registry)).isFalse();
  }

  @Test
  void finishedTargetsAreDroppedEverywhere() {
    registerAll();
    for (String stage : new String[] {"keyed", "fw"}) {
      InstanceSnapshot one = registry.instance(stage + "-1").orElseThrow();
      registry.reportState(one.instanceId(), one.session(), InstanceState.INSTANCE_STATE_FINISHED, "");
    }
    RouteUpdate in = routes.compute("in", 0);
    assertThat(RouteComputer.targetIds(output(in, "keyed"))).containsExactly("keyed-0", "keyed-2");
    assertThat(RouteComputer.targetIds(output(in, "fw"))).containsExactly("fw-0");
  }

  @Test
  void onlyChangedRoutesAreIssuedAgainWithGrowingVersions() {
    InstanceSnapshot in = register("in", 0);
    InstanceSnapshot out = register("out", 0);
    RouteUpdate first = routes.issue(in);
    RouteUpdate outFirst = routes.issue(out);
    assertThat(outFirst.getVersion()).isGreaterThan(first.getVersion());
    assertThat(routes.issueChanged()).isEmpty();

    serving("keyed", 0);
    Map<String, RouteUpdate> changed = routes.issueChanged();
    // "in" gains a target; "out" is unchanged (it knew keyed-0 as an input already); keyed-0
    // itself was never issued routes, so it is included.
    assertThat(changed.keySet()).containsExactly("in-0", "keyed-0");
    assertThat(changed.get("in-0").getVersion()).isGreaterThan(outFirst.getVersion());
    assertThat(RouteComputer.targetIds(output(changed.get("in-0"), "keyed")))
        .containsExactly("keyed-0");
    assertThat(routes.issueChanged()).isEmpty();
  }

  @Test
  void scaleOutOfAStatelessStageReroutesItsReadersAndItsOwnReplicas() {
    InstanceSnapshot in = register("in", 0);
    InstanceSnapshot rr0 = serving("rr", 0);
    routes.issue(in);
    routes.issue(rr0);
    routes.issue(serving("rr", 1));

    serving("rr", 2); // beyond replicas: 2, so rr grows to 3
    assertThat(registry.desiredParallelism("rr")).isEqualTo(3);
    Map<String, RouteUpdate> changed = routes.issueChanged();
    assertThat(changed.keySet()).contains("in-0", "rr-0", "rr-1", "rr-2");
    OutputRoute toRr = output(changed.get("in-0"), "rr");
    assertThat(toRr.getExpectedParallelism()).isEqualTo(3);
    assertThat(RouteComputer.targetIds(toRr)).containsExactly("rr-0", "rr-1", "rr-2");
    assertThat(changed.get("rr-0").getParallelism()).isEqualTo(3);
    // "out" reads rr's dead letters and now waits for three rr instances.
    assertThat(routes.compute("out", 0).getInputsList()).contains("rr-2");
  }

  @Test
  void replicaBeyondAScaleInOwnsNothingAndIsNoTarget() {
    registerAll();
    registry.scale("rr", 1);
    assertThat(routes.compute("rr", 1).getKeyGroups()).isEqualTo(KeyGroupRange.getDefaultInstance());
    assertThat(RouteComputer.targetIds(output(routes.compute("in", 0), "rr")))
        .containsExactly("rr-0");
  }

  @Test
  void aRegisteredInstanceIsATargetOnlyOnceItReportsItServes() {
    InstanceSnapshot in = serving("in", 0);
    for (String s : new String[] {"rr", "bc", "fw"}) {
      serving(s, 0);
      serving(s, 1);
    }
    serving("keyed", 0);
    serving("keyed", 1);
    InstanceSnapshot keyed2 = register("keyed", 2); // its gRPC services may not be up yet
    assertThat(registry.isServing(keyed2)).isFalse();

    RouteUpdate before = routes.issue(in);
    OutputRoute toKeyed = output(before, "keyed");
    assertThat(toKeyed.getExpectedParallelism()).isEqualTo(3);
    assertThat(RouteComputer.targetIds(toKeyed)).containsExactly("keyed-0", "keyed-1");
    // Every other output is complete, so only the missing keyed-2 holds "in" back.
    assertThat(RouteComputer.complete(before, registry)).isFalse();
    routes.issueChanged(); // everyone else gets their first routes
    assertThat(routes.issueChanged()).isEmpty();

    registry.reportState(
        keyed2.instanceId(), keyed2.session(), InstanceState.INSTANCE_STATE_RUNNING, "serving");
    assertThat(registry.isServing(keyed2)).isTrue();
    Map<String, RouteUpdate> changed = routes.issueChanged();
    assertThat(changed.keySet()).containsExactly("in-0");
    RouteUpdate after = changed.get("in-0");
    assertThat(after.getVersion()).isGreaterThan(before.getVersion());
    assertThat(RouteComputer.targetIds(output(after, "keyed")))
        .containsExactly("keyed-0", "keyed-1", "keyed-2");
    assertThat(output(after, "keyed").getTargets(2).getKeyGroups()).isEqualTo(range(5, 8));
    assertThat(RouteComputer.complete(after, registry)).isTrue();
  }

  @Test
  void aReplacementRegistrationIsATargetOnlyOnceItReportsItServesAgain() {
    InstanceSnapshot in = serving("in", 0);
    serving("keyed", 0);
    InstanceSnapshot first = serving("keyed", 1);
    routes.issue(in);
    registry.markDead(first.instanceId(), first.session(), "test");
    // The dead one stays on the hash edge, so "in" keeps its routes.
    assertThat(routes.issueChanged()).doesNotContainKey("in-0");

    InstanceSnapshot second = register("keyed", 1);
    // A late report from the dead registration does not make the new one serve.
    registry.reportState(
        first.instanceId(), first.session(), InstanceState.INSTANCE_STATE_RUNNING, "late");
    assertThat(registry.isServing(second)).isFalse();
    RouteUpdate waiting = routes.issueChanged().get("in-0");
    assertThat(waiting).isNotNull();
    assertThat(RouteComputer.targetIds(output(waiting, "keyed"))).containsExactly("keyed-0");

    registry.reportState(
        second.instanceId(), second.session(), InstanceState.INSTANCE_STATE_RUNNING, "serving");
    RouteUpdate rerouted = routes.issueChanged().get("in-0");
    assertThat(rerouted).isNotNull();
    assertThat(RouteComputer.targetIds(output(rerouted, "keyed")))
        .containsExactly("keyed-0", "keyed-1");
  }
}
