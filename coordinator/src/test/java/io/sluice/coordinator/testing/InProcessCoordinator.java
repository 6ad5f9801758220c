package io.sluice.coordinator.testing;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.sluice.coordinator.Coordinator;
import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.control.ControlServiceImpl;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.liveness.LivenessMonitor;
import io.sluice.coordinator.recovery.RecoveryCoordinator;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.runtime.checkpoint.CheckpointStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's services wired by {@link Coordinator} as {@code CoordinatorServer} wires
 * them, served in-process with fake time. Calls run on the calling thread (direct executors, and
 * a {@link FakeScheduler} that runs posted work at once), so when a call returns everything it
 * caused has been delivered; timed work (the checkpoint trigger, timeouts) runs when the test
 * moves {@link #scheduler} on. Liveness runs only when a test calls {@code liveness.check()}.
 */
public final class InProcessCoordinator {
  public final FakeTicker ticker = new FakeTicker();
  public final FakeScheduler scheduler = new FakeScheduler(ticker);
  public final PipelineSpec spec;
  public final Coordinator coordinator;
  public final InstanceRegistry registry;
  public final RouteComputer routes;
  public final PipelineLifecycle lifecycle;
  public final ControlServiceImpl control;
  public final LivenessMonitor liveness;
  public final ManagedChannel channel;
  public final AdminServiceGrpc.AdminServiceBlockingStub admin;
  /** For calls that answer later (TriggerSavepoint). */
  public final AdminServiceGrpc.AdminServiceStub adminAsync;
  private final Server server;

  /** A pipeline without checkpoints. */
  public InProcessCoordinator(PipelineSpec spec) {
    this(spec, Optional.empty(), Optional.empty());
  }

  /** A pipeline with checkpoints in {@code store}, started afresh. */
  public InProcessCoordinator(PipelineSpec spec, CheckpointStore store) {
    this(spec, Optional.of(store), Optional.empty());
  }

  /** Checkpoints in {@code store}, maybe starting from a savepoint. */
  public InProcessCoordinator(
      PipelineSpec spec, Optional<CheckpointStore> store, Optional<CheckpointMetadata> savepoint) {
    this.spec = spec;
    coordinator = Coordinator.wire(spec, ticker, ticker.clock(), scheduler, store, savepoint);
    registry = coordinator.registry();
    routes = coordinator.routes();
    lifecycle = coordinator.lifecycle();
    control = coordinator.control();
    liveness = coordinator.liveness();
    coordinator.startCheckpoints();
    String name = InProcessServerBuilder.generateName();
    try {
      server = InProcessServerBuilder.forName(name)
          .directExecutor()
          .addService(control)
          .addService(coordinator.admin())
          .build()
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    admin = AdminServiceGrpc.newBlockingStub(channel);
    adminAsync = AdminServiceGrpc.newStub(channel);
  }

  public CheckpointCoordinator checkpoints() {
    return coordinator.checkpoints().orElseThrow();
  }

  public RecoveryCoordinator recovery() {
    return coordinator.recovery().orElseThrow();
  }

  public InstanceClient attach() {
    return InstanceClient.attach(channel);
  }

  public PipelineStatus status() {
    return admin.getStatus(GetStatusRequest.getDefaultInstance());
  }

  public InstanceStatus instanceStatus(String instanceId) {
    return status().getStagesList().stream()
        .flatMap(s -> s.getInstancesList().stream())
        .filter(i -> i.getInstanceId().equals(instanceId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no instance " + instanceId + " in status"));
  }

  public void close() throws InterruptedException {
    scheduler.shutdownNow();
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
