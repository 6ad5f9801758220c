package io.sluice.coordinator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointDecline;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.ControlServiceGrpc;
import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.Heartbeat;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.Register;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.RestoreDone;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.StageReport;
import io.sluice.proto.v1.StateChange;
import io.sluice.proto.v1.WatermarkReport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A stage instance's end of a control stream, as a test drives it. Thread-safe. */
public final class InstanceClient implements ClientResponseObserver<StageReport, Command> {
  private final BlockingQueue<Command> commands = new LinkedBlockingQueue<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private volatile ClientCallStreamObserver<StageReport> requests;

  public static InstanceClient attach(ManagedChannel channel) {
    InstanceClient client = new InstanceClient();
    ControlServiceGrpc.newStub(channel).attach(client);
    return client;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<StageReport> requestStream) {
    this.requests = requestStream;
  }

  @Override
  public void onNext(Command command) {
    commands.add(command);
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
  }

  public void send(StageReport report) {
    requests.onNext(report);
  }

  public void register(String stage, int index) {
    register(stage, index, 0);
  }

  /** Registers as an instance that ran at {@code epoch} (0: a fresh process). */
  public void register(String stage, int index, long epoch) {
    send(StageReport.newBuilder().setRegister(Register.newBuilder()
        .setStage(stage)
        .setRequestedIndex(index)
        .setEndpoint(Endpoint.newBuilder().setHost("127.0.0.1").setPort(7100 + index))
        .setRuntime("java")
        .setPid(4242)
        .setEpoch(epoch))
        .build());
  }

  public void ack(CheckpointAck ack) {
    send(StageReport.newBuilder().setCheckpointAck(ack).build());
  }

  public void decline(long checkpointId, String reason) {
    send(StageReport.newBuilder()
        .setCheckpointDecline(
            CheckpointDecline.newBuilder().setCheckpointId(checkpointId).setReason(reason))
        .build());
  }

  /** Answers a Restore; an empty error is success. */
  public void restoreDone(long epoch, long checkpointId, String error) {
    send(StageReport.newBuilder()
        .setRestored(RestoreDone.newBuilder()
            .setEpoch(epoch)
            .setCheckpointId(checkpointId)
            .setError(error))
        .build());
  }

  /** Registers and returns the Registered answer, checking the routes follow at once. */
  public Registered registerAndAwait(String stage, int index) throws InterruptedException {
    register(stage, index);
    Registered registered = next().getRegistered();
    assertThat(registered.getInstanceId()).isEqualTo(stage + "-" + index);
    return registered;
  }

  public void heartbeat() {
    send(StageReport.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSentAtMillis(1)).build());
  }

  public void reportWatermark(long watermark, boolean idle) {
    send(StageReport.newBuilder()
        .setWatermark(WatermarkReport.newBuilder().setWatermark(watermark).setIdle(idle))
        .build());
  }

  public void reportState(InstanceState state, String reason) {
    send(StageReport.newBuilder()
        .setState(StateChange.newBuilder().setState(state).setReason(reason))
        .build());
  }

  /** The next command; fails after 5 s without one. */
  public Command next() throws InterruptedException {
    Command command = commands.poll(5, TimeUnit.SECONDS);
    assertThat(command).as("a command within 5 s").isNotNull();
    return command;
  }

  public RouteUpdate nextRoutes() throws InterruptedException {
    Command command = next();
    assertThat(command.hasRoutes()).as("expected routes, got %s", command).isTrue();
    return command.getRoutes();
  }

  /** The next command, which must be AlignWatermarks; returns its slowest source watermark. */
  public long nextAlignment() throws InterruptedException {
    Command command = next();
    assertThat(command.hasAlignWatermarks()).as("expected align_watermarks, got %s", command).isTrue();
    return command.getAlignWatermarks().getSlowestSourceWatermark();
  }

  /** The kinds of the commands received and not yet taken, which it takes. */
  public List<Command.KindCase> pendingKinds() {
    return pending().stream().map(Command::getKindCase).toList();
  }

  /** Commands received and not yet taken. */
  public List<Command> pending() {
    List<Command> drained = new ArrayList<>();
    commands.drainTo(drained);
    return drained;
  }

  /** Cancels the call, as a crashing instance's transport would. */
  public void cancel() {
    requests.cancel("instance crashed", null);
  }

  /** Ends the stream cleanly from the instance's side. */
  public void complete() {
    requests.onCompleted();
  }

  /** How the coordinator ended the stream; fails after 5 s if it did not. */
  public Status awaitClosed() throws Exception {
    return closed.get(5, TimeUnit.SECONDS);
  }

  public boolean isClosed() {
    return closed.isDone();
  }
}
