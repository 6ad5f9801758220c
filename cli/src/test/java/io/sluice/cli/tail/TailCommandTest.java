package io.sluice.cli.tail;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.sluice.cli.CliRunner;
import io.sluice.proto.v1.EgressServiceGrpc;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.SubscribeRequest;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TailCommandTest {
  private Server server;
  private final List<SubscribeRequest> requests = new CopyOnWriteArrayList<>();
  private final CountDownLatch cancelled = new CountDownLatch(1);

  @AfterEach
  void tearDown() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** A real EgressService that sends {@code batches} batches of 3 events, then ends or not. */
  private String serve(int batches, boolean end, Status failure) throws Exception {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new EgressServiceGrpc.EgressServiceImplBase() {
                  @Override
                  public void subscribe(
                      SubscribeRequest request, StreamObserver<EventBatch> responses) {
                    requests.add(request);
                    ((ServerCallStreamObserver<EventBatch>) responses)
                        .setOnCancelHandler(cancelled::countDown);
                    for (int b = 0; b < batches; b++) {
                      EventBatch.Builder batch =
                          EventBatch.newBuilder().setFirstSequence(b * 3 + 1);
                      for (int i = 1; i <= 3; i++) {
                        int n = b * 3 + i;
                        batch.addEvents(
                            Event.newBuilder()
                                .setId("e" + n)
                                .setKey(ByteString.copyFromUtf8("user-" + n))
                                .setEventTime(1_767_225_600_000L + n)
                                .setPayload(ByteString.copyFromUtf8("{\"count\":" + n + "}")));
                      }
                      responses.onNext(batch.build());
                    }
                    if (failure != null) {
                      responses.onError(failure.asRuntimeException());
                    } else if (end) {
                      responses.onCompleted();
                    }
                  }
                })
            .build()
            .start();
    return "127.0.0.1:" + server.getPort();
  }

  @Test
  void printsEveryEventAsAJsonLineUntilTheStreamEnds() throws Exception {
    String target = serve(2, true, null);

    CliRunner.Result r = CliRunner.run("tail", "--from", target, "--from-sequence", "7");

    assertThat(r.exitCode()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines).hasSize(6);
    assertThat(lines.get(0))
        .isEqualTo(
            "{\"id\":\"e1\",\"key\":\"user-1\",\"time\":1767225600001,\"payload\":{\"count\":1}}");
    assertThat(lines.get(5)).contains("\"id\":\"e6\"");
    assertThat(requests)
        .singleElement()
        .extracting(SubscribeRequest::getFromSequence)
        .isEqualTo(7L);
  }

  @Test
  void stopsAfterCountEventsAndCancelsTheSubscription() throws Exception {
    String target = serve(3, false, null); // a stream that never ends by itself

    CliRunner.Result r = CliRunner.run("tail", "--from", target, "--count", "4");

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out().lines()).hasSize(4);
    assertThat(cancelled.await(10, TimeUnit.SECONDS)).as("subscription cancelled").isTrue();
  }

  @Test
  void aFailedStreamPrintsTheStatusAndExitsOne() throws Exception {
    String target = serve(1, false, Status.UNAVAILABLE.withDescription("egress out-0 is draining"));

    CliRunner.Result r = CliRunner.run("tail", "--from", target);

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.out().lines()).hasSize(3);
    assertThat(r.err())
        .contains("UNAVAILABLE: egress out-0 is draining")
        .contains("after 3 events");
  }
}
