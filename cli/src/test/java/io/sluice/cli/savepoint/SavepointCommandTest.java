package io.sluice.cli.savepoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.sluice.cli.CliRunner;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.TriggerSavepointRequest;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code sluice savepoint} against a real AdminService on loopback. */
class SavepointCommandTest {
  private static final String LOCATION = "/data/.sluice/checkpoints/clicks/savepoint-7";

  private Server server;
  private final List<TriggerSavepointRequest> requests = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Answers TriggerSavepoint with what {@code answer} gives: a CheckpointInfo or a Status. */
  private String serve(Function<TriggerSavepointRequest, Object> answer) throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new AdminServiceGrpc.AdminServiceImplBase() {
                  @Override
                  public void triggerSavepoint(
                      TriggerSavepointRequest request, StreamObserver<CheckpointInfo> response) {
                    synchronized (requests) {
                      requests.add(request);
                    }
                    Object a = answer.apply(request);
                    if (a instanceof Status) {
                      response.onError(((Status) a).asRuntimeException());
                    } else {
                      response.onNext((CheckpointInfo) a);
                      response.onCompleted();
                    }
                  }
                })
            .build()
            .start();
    return "127.0.0.1:" + server.getPort();
  }

  private static CheckpointInfo completed() {
    return CheckpointInfo.newBuilder()
        .setCheckpointId(7)
        .setState("completed")
        .setSavepoint(true)
        .setTriggeredAtMillis(1_767_225_605_000L)
        .setDurationMillis(1_250)
        .setSizeBytes(3 * 1024 * 1024 + 400 * 1024)
        .setLocation(LOCATION)
        .build();
  }

  @Test
  void printsTheSavepointIdAndItsLocation() throws Exception {
    String coordinator = serve(r -> completed());

    CliRunner.Result r = CliRunner.run("savepoint", "--coordinator", coordinator);

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("savepoint 7 completed in 1.25 s, 3.4 MiB, triggered at 2026-01-01T00:00:05Z")
        .contains("location: " + LOCATION)
        .contains("sluice up PIPELINE.yaml --from-savepoint " + LOCATION);
    assertThat(requests).containsExactly(TriggerSavepointRequest.getDefaultInstance());
  }

  @Test
  void jsonHasEveryFieldOfTheCheckpointInfo() throws Exception {
    String coordinator = serve(r -> completed());

    CliRunner.Result r = CliRunner.run("savepoint", "--coordinator", coordinator, "--json");

    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode json = new ObjectMapper().readTree(r.out());
    assertThat(json.get("checkpointId").asLong()).isEqualTo(7);
    assertThat(json.get("state").asText()).isEqualTo("completed");
    assertThat(json.get("savepoint").asBoolean()).isTrue();
    assertThat(json.get("location").asText()).isEqualTo(LOCATION);
    assertThat(json.get("durationMillis").asLong()).isEqualTo(1_250);
    assertThat(json.get("sizeBytes").asLong()).isEqualTo(3 * 1024 * 1024 + 400 * 1024);
    assertThat(json.get("triggeredAtMillis").asLong()).isEqualTo(1_767_225_605_000L);
    assertThat(json.get("failureReason").asText()).isEmpty();
  }

  @Test
  void theTargetIsPassedOn() throws Exception {
    String coordinator = serve(r -> completed());

    CliRunner.Result r =
        CliRunner.run("savepoint", "--coordinator", coordinator, "--target", "/backups/sp");

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(requests).extracting(TriggerSavepointRequest::getTarget).containsExactly("/backups/sp");
  }

  @Test
  void aFailedPreconditionIsPrintedWithTheCoordinatorsReasonAndExitsOne() throws Exception {
    String coordinator =
        serve(
            r ->
                Status.FAILED_PRECONDITION.withDescription(
                    "checkpoints are not configured: add a checkpoints: section to the spec"));

    CliRunner.Result r = CliRunner.run("savepoint", "--coordinator", coordinator);

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err())
        .contains(
            "FAILED_PRECONDITION: checkpoints are not configured: add a checkpoints: section to"
                + " the spec")
        .contains("fix the state described above first");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void anAbortedSavepointIsAFailureWithItsReason() throws Exception {
    String coordinator =
        serve(
            r ->
                CheckpointInfo.newBuilder()
                    .setCheckpointId(8)
                    .setState("aborted")
                    .setSavepoint(true)
                    .setFailureReason("map-1 declined: state too large")
                    .build());

    CliRunner.Result r = CliRunner.run("savepoint", "--coordinator", coordinator);

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.out()).contains("savepoint 8 aborted").contains("failure: map-1 declined");
    assertThat(r.out()).doesNotContain("--from-savepoint");
    assertThat(r.err()).contains("savepoint 8 was aborted: map-1 declined: state too large");
  }

  @Test
  void noCoordinatorIsUnavailableWithAHint() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free once closed: nothing listens there
    }

    CliRunner.Result r = CliRunner.run("savepoint", "--coordinator", "127.0.0.1:" + port);

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("UNAVAILABLE").contains("the coordinator at 127.0.0.1:" + port);
  }

  @Test
  void badUsageExitsTwo() {
    assertThat(CliRunner.run("savepoint", "--coordinator", "no-port").exitCode()).isEqualTo(2);
    assertThat(CliRunner.run("savepoint", "--timeout", "0").exitCode()).isEqualTo(2);
    assertThat(CliRunner.run("savepoint", "--target", " ").exitCode()).isEqualTo(2);
    assertThat(CliRunner.run("savepoint", "extra").exitCode()).isEqualTo(2);
  }

  @Test
  void isASubcommandOfSluice() {
    CliRunner.Result r = CliRunner.run("--help");
    assertThat(r.out()).contains("savepoint").contains("Take a savepoint of the running pipeline.");
  }
}
