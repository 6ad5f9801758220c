package io.sluice.coordinator.testing;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.sluice.coordinator.admin.AdminServiceImpl;
import io.sluice.coordinator.admin.StatusReporter;
import io.sluice.coordinator.control.ControlServiceImpl;
import io.sluice.coordinator.lifecycle.PipelineLifecycle;
import io.sluice.coordinator.liveness.LivenessMonitor;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's services wired as {@code CoordinatorServer} wires them, served in-process
 * with a fake clock. Calls run on the calling thread (direct executors), so when a blocking call
 * returns everything it caused has been delivered.
 */
public final class InProcessCoordinator {
  public final FakeTicker ticker = new FakeTicker();
  public final PipelineSpec spec;
  public final InstanceRegistry registry;
  public final RouteComputer routes;
  public final PipelineLifecycle lifecycle;
  public final ControlServiceImpl control;
  public final LivenessMonitor liveness;
  public final ManagedChannel channel;
  public final AdminServiceGrpc.AdminServiceBlockingStub admin;
  private final Server server;

  public InProcessCoordinator(PipelineSpec spec) {
    this.spec = spec;
    registry = new InstanceRegistry(spec, ticker);
    routes = new RouteComputer(spec, registry);
    lifecycle = new PipelineLifecycle(registry);
    control = new ControlServiceImpl(registry, routes, lifecycle);
    liveness = new LivenessMonitor(registry, spec.heartbeat().timeout(), control::instancesDied);
    String name = InProcessServerBuilder.generateName();
    try {
      server = InProcessServerBuilder.forName(name)
          .directExecutor()
          .addService(control)
          .addService(new AdminServiceImpl(registry, new StatusReporter(registry, lifecycle), control))
          .build()
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    admin = AdminServiceGrpc.newBlockingStub(channel);
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
    channel.shutdownNow();
    server.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
