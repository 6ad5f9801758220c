package io.sluice.coordinator.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Status;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.testing.InProcessCoordinator;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.OutputRoute;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.RouteUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ControlServiceImplTest {
  private final InProcessCoordinator coordinator = new InProcessCoordinator(Specs.parse("""
      pipeline: clicks
      stages:
        - {name: in, type: ingest}
        - {name: buys, type: filter, from: in, replicas: 2, where: {field: $.action}}
        - {name: per-user, type: count, from: buys}
      """));

  @AfterEach
  void tearDown() throws InterruptedException {
    coordinator.close();
  }

  private static KeyGroupRange range(int start, int end) {
    return KeyGroupRange.newBuilder().setStart(start).setEnd(end).build();
  }

  private InstanceClient registered(String stage, int index) throws InterruptedException {
    InstanceClient client = coordinator.attach();
    client.registerAndAwait(stage, index);
    client.nextRoutes();
    if (stage.equals("in")) {
      // A source also gets the slowest source watermark: unknown, as it has reported none yet.
      assertThat(client.nextAlignment()).isEqualTo(Long.MIN_VALUE);
    }
    return client;
  }

  /** Registers, takes Registered and the first routes, then reports that it serves. */
  private InstanceClient serving(String stage, int index) throws InterruptedException {
    InstanceClient client = registered(stage, index);
    client.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    return client;
  }

  /**
   * in-0, buys-0, buys-1, per-user-0, each serving and having taken its Registered and first
   * routes.
   */
  private InstanceClient[] registerAll() throws InterruptedException {
    InstanceClient in = serving("in", 0);
    InstanceClient b0 = serving("buys", 0);
    InstanceClient b1 = serving("buys", 1);
    InstanceClient pu = serving("per-user", 0);
    for (InstanceClient c : new InstanceClient[] {in, b0, b1, pu}) {
      c.pending(); // route pushes caused by the later registrations
    }
    return new InstanceClient[] {in, b0, b1, pu};
  }

  private InstanceState state(String instanceId) {
    return coordinator.instanceStatus(instanceId).getState();
  }

  @Test
  void registeredThenRoutesAndTheUpstreamIsReroutedWhenItsDownstreamRegisters() throws Exception {
    InstanceClient in = coordinator.attach();
    Registered reg = in.registerAndAwait("in", 0);
    assertThat(reg.getPipeline()).isEqualTo("clicks");
    assertThat(reg.getIndex()).isZero();
    assertThat(reg.getStageType()).isEqualTo("ingest");
    assertThat(reg.getHeartbeatIntervalMillis()).isEqualTo(1000);
    assertThat(reg.getMaxParallelism()).isEqualTo(128);
    assertThat(reg.getKeyGroups()).isEqualTo(range(0, 128));
    assertThat(reg.getParallelism()).isEqualTo(1);
    assertThat(reg.getBaseDir()).isEqualTo(coordinator.spec.baseDir().toString());

    RouteUpdate first = in.nextRoutes();
    assertThat(first.getOutputsCount()).isEqualTo(1);
    OutputRoute toBuys = first.getOutputs(0);
    assertThat(toBuys.getToStage()).isEqualTo("buys");
    assertThat(toBuys.getPartitioning()).isEqualTo(Partitioning.PARTITIONING_ROUND_ROBIN);
    assertThat(toBuys.getExpectedParallelism()).isEqualTo(2);
    assertThat(toBuys.getTargetsList()).isEmpty();
    // A source then learns the slowest source watermark: unknown while in-0 itself has not reported.
    assertThat(in.nextAlignment()).isEqualTo(Long.MIN_VALUE);
    // Its downstream is missing, so it may not run yet.
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);

    InstanceClient buys = coordinator.attach();
    Registered buysReg = buys.registerAndAwait("buys", 1);
    JsonNode config = new ObjectMapper().readTree(buysReg.getStageConfigJson());
    assertThat(config.at("/where/field").asText()).isEqualTo("$.action");
    assertThat(config.get("name").asText()).isEqualTo("buys");
    assertThat(buysReg.getKeyGroups()).isEqualTo(range(64, 128));
    assertThat(buysReg.getParallelism()).isEqualTo(2);
    RouteUpdate buysRoutes = buys.nextRoutes();
    assertThat(buysRoutes.getInputsList()).containsExactly("in-0");
    assertThat(buysRoutes.getOutputs(0).getToStage()).isEqualTo("per-user");
    assertThat(buysRoutes.getOutputs(0).getPartitioning()).isEqualTo(Partitioning.PARTITIONING_HASH);
    buys.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");

    RouteUpdate second = in.nextRoutes();
    assertThat(second.getVersion()).isGreaterThan(first.getVersion());
    assertThat(RouteComputer.targetIds(second.getOutputs(0))).containsExactly("buys-1");
    assertThat(second.getOutputs(0).getTargets(0).getEndpoint().getPort()).isEqualTo(7101);
    assertThat(in.pending()).isEmpty();
    assertThat(buys.pending()).isEmpty();
  }

  @Test
  void instancesRunOnceTheirRoutesAreCompleteAndThePipelineRunsWhenAllDo() throws Exception {
    InstanceClient in = serving("in", 0);
    serving("buys", 0);
    serving("buys", 1);
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_RUNNING);
    // buys-0 serves, but has no per-user target yet.
    assertThat(state("buys-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    assertThat(coordinator.status().getState()).isEqualTo("starting");

    InstanceClient perUser = registered("per-user", 0);
    // Registered is not serving: buys-0 still has no target.
    assertThat(state("buys-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    assertThat(coordinator.status().getState()).isEqualTo("starting");
    perUser.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    assertThat(state("buys-0")).isEqualTo(InstanceState.INSTANCE_STATE_RUNNING);
    assertThat(state("per-user-0")).isEqualTo(InstanceState.INSTANCE_STATE_RUNNING);
    assertThat(coordinator.status().getState()).isEqualTo("running");
    in.pending();
  }

  @Test
  void cancelledStreamMarksTheInstanceDeadAndStatusSaysWhy() throws Exception {
    InstanceClient[] all = registerAll();
    InstanceClient in = all[0];
    InstanceClient perUser = all[3];

    all[2].cancel();

    InstanceStatus buys1 = coordinator.instanceStatus("buys-1");
    assertThat(buys1.getState()).isEqualTo(InstanceState.INSTANCE_STATE_DEAD);
    assertThat(buys1.getStateReason()).startsWith("control stream closed: ");
    assertThat(coordinator.status().getState()).isEqualTo("degraded");
    // Round robin goes on without the dead replica…
    RouteUpdate rerouted = in.nextRoutes();
    assertThat(RouteComputer.targetIds(rerouted.getOutputs(0))).containsExactly("buys-0");
    // …while per-user still waits for both buys replicas to end, so its routes do not change.
    assertThat(perUser.pending()).isEmpty();

    // A restarted replica takes the dead one's index and is routed to again once it serves.
    serving("buys", 1);
    assertThat(RouteComputer.targetIds(in.nextRoutes().getOutputs(0)))
        .containsExactly("buys-0", "buys-1");
    assertThat(coordinator.status().getState()).isEqualTo("running");
  }

  @Test
  void streamEndedWithoutFinishingIsDeathButAfterFinishingIsNot() throws Exception {
    InstanceClient[] all = registerAll();
    all[1].complete();
    assertThat(all[1].awaitClosed().isOk()).isTrue();
    assertThat(coordinator.instanceStatus("buys-0").getStateReason())
        .isEqualTo("control stream closed: the instance ended it without reporting FINISHED");

    all[3].reportState(InstanceState.INSTANCE_STATE_FINISHED, "all inputs ended");
    all[3].complete();
    assertThat(state("per-user-0")).isEqualTo(InstanceState.INSTANCE_STATE_FINISHED);
  }

  @Test
  void missedHeartbeatsEndTheStreamAndRerouteAroundTheInstance() throws Exception {
    InstanceClient[] all = registerAll();
    for (int step = 0; step < 2; step++) {
      coordinator.ticker.advance(Duration.ofSeconds(3));
      all[0].heartbeat();
      all[1].heartbeat();
      all[3].heartbeat();
    }
    assertThat(coordinator.liveness.check()).hasSize(1);

    Status closed = all[2].awaitClosed();
    assertThat(closed.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(closed.getDescription()).contains("missed heartbeats for 6 s (timeout 5 s)");
    assertThat(coordinator.instanceStatus("buys-1").getStateReason())
        .isEqualTo("missed heartbeats for 6 s (timeout 5 s)");
    assertThat(RouteComputer.targetIds(all[0].nextRoutes().getOutputs(0)))
        .containsExactly("buys-0");
  }

  @Test
  void anUpstreamGainsADownstreamTargetOnlyOnceItReportsThatItServes() throws Exception {
    InstanceClient in = registered("in", 0);
    in.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving"); // it serves; no one reads it
    InstanceClient buys0 = registered("buys", 0);
    // Registered, but its gRPC services may not be up: "in" must not open a stream to it yet.
    assertThat(in.pending()).isEmpty();

    buys0.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    RouteUpdate first = in.nextRoutes();
    assertThat(RouteComputer.targetIds(first.getOutputs(0))).containsExactly("buys-0");
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING); // 1 of 2

    InstanceClient buys1 = registered("buys", 1);
    assertThat(in.pending()).isEmpty();
    buys1.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    RouteUpdate second = in.nextRoutes();
    assertThat(second.getVersion()).isGreaterThan(first.getVersion());
    assertThat(RouteComputer.targetIds(second.getOutputs(0))).containsExactly("buys-0", "buys-1");
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_RUNNING);
    // Its own report only said it serves; its routes lack a per-user target, so it still starts.
    assertThat(state("buys-0")).isEqualTo(InstanceState.INSTANCE_STATE_STARTING);
    assertThat(in.pending()).isEmpty();
  }

  @Test
  void withoutCheckpointsThereAreNoEpochsNoSettingsAndNoRestores() throws Exception {
    InstanceClient in = coordinator.attach();
    // Even an instance that says it ran at an epoch just gets routes (epoch 0).
    in.register("in", 0, 3);
    Registered registered = in.next().getRegistered();
    assertThat(registered.hasCheckpoints()).isFalse();
    assertThat(in.nextRoutes().getEpoch()).isZero();
    assertThat(in.nextAlignment()).isEqualTo(Long.MIN_VALUE);
    in.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
    InstanceClient b0 = serving("buys", 0);
    b0.pending();
    in.pending();

    b0.cancel();
    List<Command> sent = in.pending();
    assertThat(sent).noneMatch(Command::hasRestore);
    assertThat(sent).filteredOn(Command::hasRoutes).isNotEmpty()
        .allMatch(c -> c.getRoutes().getEpoch() == 0);
    assertThat(coordinator.status().getState()).isEqualTo("degraded");
  }

  @Test
  void firstReportMustBeRegister() throws Exception {
    InstanceClient client = coordinator.attach();
    client.heartbeat();
    Status status = client.awaitClosed();
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("must be 'register', got 'heartbeat'");
  }

  @Test
  void registrationsAreRefusedWithTheDocumentedCodes() throws Exception {
    registered("buys", 0);
    InstanceClient unknown = coordinator.attach();
    unknown.register("nope", 0);
    assertThat(unknown.awaitClosed().getCode()).isEqualTo(Status.Code.NOT_FOUND);

    InstanceClient taken = coordinator.attach();
    taken.register("buys", 0);
    assertThat(taken.awaitClosed().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);

    InstanceClient beyond = coordinator.attach();
    beyond.register("per-user", 1);
    Status status = beyond.awaitClosed();
    assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(status.getDescription()).contains("keeps keyed state");
  }

  @Test
  void aSecondRegisterOnOneStreamIsRefusedAndKillsTheInstance() throws Exception {
    InstanceClient in = registered("in", 0);
    in.register("in", 1);
    assertThat(in.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(state("in-0")).isEqualTo(InstanceState.INSTANCE_STATE_DEAD);
  }

  @Test
  void drainTellsSourcesAndThePipelineFinishesWhenEveryInstanceHas() throws Exception {
    InstanceClient[] all = registerAll();
    assertThat(coordinator.control.drainPipeline("test is over")).containsExactly("in-0");
    Command drain = all[0].next();
    assertThat(drain.getDrain().getReason()).isEqualTo("test is over");
    assertThat(all[1].pending()).isEmpty(); // only sources are told
    assertThat(coordinator.status().getState()).isEqualTo("draining");
    assertThat(coordinator.lifecycle.awaitFinished(Duration.ZERO)).isFalse();

    for (InstanceClient c : all) {
      c.reportState(InstanceState.INSTANCE_STATE_FINISHED, "");
    }
    assertThat(coordinator.lifecycle.awaitFinished(Duration.ofSeconds(5))).isTrue();
    for (InstanceClient c : all) {
      c.complete();
    }
    assertThat(coordinator.status().getState()).isEqualTo("finished");
    assertThat(coordinator.instanceStatus("in-0").getState())
        .isEqualTo(InstanceState.INSTANCE_STATE_FINISHED);
  }

  @Test
  void aSourceThatRegistersDuringADrainIsToldToDrainAtOnce() throws Exception {
    coordinator.control.drainPipeline("shutting down");
    InstanceClient in = coordinator.attach();
    in.registerAndAwait("in", 0);
    in.nextRoutes();
    assertThat(in.nextAlignment()).isEqualTo(Long.MIN_VALUE);
    assertThat(in.next().hasDrain()).isTrue();
  }

  @Test
  void concurrentRoutePushesReachAnInstanceInVersionOrderAndTheLastOneWins() throws Exception {
    InstanceClient in = registered("in", 0);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int offset = t;
        done.add(pool.submit(() -> {
          for (int i = 0; i < 200; i++) {
            coordinator.registry.scale("buys", 2 + (i + offset) % 3);
            coordinator.control.pushRouteChanges("test");
          }
        }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    coordinator.control.pushRouteChanges("final");
    long last = 0;
    RouteUpdate latest = null;
    for (Command c : in.pending()) {
      assertThat(c.getRoutes().getVersion()).isGreaterThan(last);
      last = c.getRoutes().getVersion();
      latest = c.getRoutes();
    }
    assertThat(latest).isNotNull();
    assertThat(latest.toBuilder().setVersion(0).build()).isEqualTo(coordinator.routes.compute("in", 0));
  }
}
