package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.ControlServiceGrpc;
import io.sluice.proto.v1.EgressServiceGrpc;
import io.sluice.proto.v1.SubscribeRequest;
import io.sluice.proto.v1.StageReport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A stage process that is up but not yet built (waiting for its registration, as after a restart)
 * answers UNAVAILABLE, which clients retry, not UNIMPLEMENTED, which tells them the service does
 * not exist. Over real loopback sockets, with a coordinator that takes the control stream and
 * never answers.
 */
class StageProcessStartingTest {
  @Test
  void callsBeforeTheFirstBuildAreUnavailableNotUnimplemented() throws Exception {
    AtomicReference<StreamObserver<Command>> control = new AtomicReference<>();
    CountDownLatch attached = new CountDownLatch(1);
    Server coordinator = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new ControlServiceGrpc.ControlServiceImplBase() {
          @Override
          public StreamObserver<StageReport> attach(StreamObserver<Command> commands) {
            control.set(commands);
            attached.countDown();
            return new StreamObserver<>() {
              @Override
              public void onNext(StageReport report) {} // registration: never answered

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            };
          }
        })
        .build().start();
    int port = freePort();
    CompletableFuture<StageProcess> starting = CompletableFuture.supplyAsync(() -> {
      try {
        return StageProcess.start(new StageProcess.Options(
            "127.0.0.1:" + coordinator.getPort(), "out", 0, "127.0.0.1", port));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      assertThat(attached.await(30, TimeUnit.SECONDS)).as("the stage attached").isTrue();
      awaitListening(port);
      assertThatThrownBy(() -> EgressServiceGrpc.newBlockingStub(channel)
              .subscribe(SubscribeRequest.getDefaultInstance()).hasNext())
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("stage out is starting")
                .contains("sluice.v1.EgressService/Subscribe");
          });
    } finally {
      channel.shutdownNow();
      // The coordinator goes away: the start fails and the process closes what it opened.
      control.get().onError(Status.UNAVAILABLE.withDescription("test over").asRuntimeException());
      coordinator.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      assertThatThrownBy(() -> starting.get(90, TimeUnit.SECONDS)).isNotNull();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void awaitListening(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        assertThat(s.isConnected()).isTrue();
        return;
      } catch (IOException e) {
        Thread.sleep(50); // the server binds before attaching; this only covers a slow start
      }
    }
    throw new AssertionError("nothing listens on " + port);
  }
}
