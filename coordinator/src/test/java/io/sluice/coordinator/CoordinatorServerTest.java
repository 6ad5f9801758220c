package io.sluice.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.sluice.coordinator.lifecycle.PipelineState;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.testing.InMemoryCheckpointStore;
import io.sluice.coordinator.testing.InstanceClient;
import io.sluice.coordinator.testing.Specs;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.ControlServiceGrpc;
import io.sluice.proto.v1.DrainRequest;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Restore;
import io.sluice.proto.v1.StageCheckpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The whole coordinator over real loopback sockets. */
@Tag("integration")
class CoordinatorServerTest {
  @Test
  void servesHealthControlAndAdminAndFinishesAfterADrain() throws Exception {
    CoordinatorServer server = CoordinatorServer.start(Specs.parse("""
        pipeline: p
        stages:
          - {name: in, type: ingest}
          - {name: out, type: filter, from: in}
        """), "127.0.0.1", 0);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(
        "127.0.0.1", server.port(), InsecureChannelCredentials.create()).build();
    try {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
      assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(ServingStatus.SERVING);
      assertThat(health.check(HealthCheckRequest.newBuilder()
          .setService(ControlServiceGrpc.SERVICE_NAME).build()).getStatus())
          .isEqualTo(ServingStatus.SERVING);

      InstanceClient in = InstanceClient.attach(channel);
      in.registerAndAwait("in", 0);
      in.nextRoutes();
      assertThat(in.nextAlignment()).isEqualTo(Long.MIN_VALUE);
      in.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
      InstanceClient out = InstanceClient.attach(channel);
      out.registerAndAwait("out", 0);
      out.nextRoutes();
      out.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
      assertThat(RouteComputer.targetIds(in.nextRoutes().getOutputs(0))).containsExactly("out-0");
      AdminServiceGrpc.AdminServiceBlockingStub admin = AdminServiceGrpc.newBlockingStub(channel);
      assertThat(admin.getStatus(GetStatusRequest.getDefaultInstance()).getState())
          .isEqualTo("running");

      admin.drain(DrainRequest.newBuilder().setReason("test").build());
      assertThat(in.next().hasDrain()).isTrue();
      assertThat(server.state()).isEqualTo(PipelineState.DRAINING);
      in.reportState(InstanceState.INSTANCE_STATE_FINISHED, "drained");
      out.reportState(InstanceState.INSTANCE_STATE_FINISHED, "inputs ended");
      assertThat(server.awaitFinished(Duration.ofSeconds(10))).isTrue();
      assertThat(admin.getStatus(GetStatusRequest.getDefaultInstance()).getState())
          .isEqualTo("finished");
    } finally {
      server.close();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void startsFromASavepointOverLoopback() throws Exception {
    PipelineSpec spec = Specs.parse("""
        pipeline: p
        checkpoints: {interval: 1h, dir: /srv/ckpt}
        stages:
          - {name: in, type: ingest}
          - {name: out, type: filter, from: in}
        """);
    CheckpointMetadata savepoint = CheckpointMetadata.newBuilder()
        .setPipeline("p")
        .setCheckpointId(4)
        .setSavepoint(true)
        .setMaxParallelism(128)
        .addStages(StageCheckpoint.newBuilder()
            .setStage("in")
            .setParallelism(1)
            .addState(InMemoryCheckpointStore.handle(4, "in-0", 0, 128, 10))
            .putSourcePositions("p1", 7))
        .build();
    List<Path> opened = new CopyOnWriteArrayList<>();
    CoordinatorServer server = CoordinatorServer.start(spec, "127.0.0.1", 0,
        Path.of("/srv/ckpt/p/savepoint-4"), dir -> {
          opened.add(dir);
          return new InMemoryCheckpointStore();
        }, dir -> savepoint);
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(
        "127.0.0.1", server.port(), InsecureChannelCredentials.create()).build();
    try {
      assertThat(opened).containsExactly(Path.of("/srv/ckpt/p"));
      InstanceClient in = InstanceClient.attach(channel);
      assertThat(in.registerAndAwait("in", 0).getCheckpoints().getStorageDir())
          .isEqualTo("/srv/ckpt/p");
      assertThat(in.nextAlignment()).isEqualTo(Long.MIN_VALUE);
      in.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");
      assertThat(server.state()).isEqualTo(PipelineState.RESTORING);
      InstanceClient out = InstanceClient.attach(channel);
      out.registerAndAwait("out", 0);
      out.reportState(InstanceState.INSTANCE_STATE_RUNNING, "serving");

      Restore restore = in.next().getRestore();
      assertThat(restore.getEpoch()).isEqualTo(2);
      assertThat(restore.getCheckpointId()).isEqualTo(4);
      assertThat(restore.getSourcePositionsMap()).containsEntry("p1", 7L);
      assertThat(out.next().getRestore().getEpoch()).isEqualTo(2);
      in.restoreDone(2, 4, "");
      out.restoreDone(2, 4, "");
      assertThat(in.nextRoutes().getEpoch()).isEqualTo(2);
      assertThat(out.nextRoutes().getEpoch()).isEqualTo(2);
    } finally {
      server.close();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
