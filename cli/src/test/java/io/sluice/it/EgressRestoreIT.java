package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.sluice.client.SluiceProducer;
import io.sluice.proto.v1.EgressServiceGrpc;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.SubscribeRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Egress numbers what it delivers: after the ingest is killed and the pipeline restores, the
 * events replayed since the checkpoint carry the numbers they had, so a subscriber that skips
 * numbers it has seen gets every event exactly once, numbered 1..N without a gap.
 */
@Tag("integration")
class EgressRestoreIT {
  static final int EVENTS = 200_000;

  static final String SPEC = """
      pipeline: egress-restore
      coordinator: {port: {{COORDINATOR_PORT}}}
      heartbeat: {interval: 200ms, timeout: 2s}
      checkpoints: {interval: 1s, dir: checkpoints}
      stages:
        - name: in
          type: ingest
          port: {{PORT_1}}
        - name: out
          type: egress
          from: in
          port: {{PORT_2}}
      """;

  @Test
  void aSubscriberThatSkipsSeenNumbersGetsEveryEventOnce(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
      throws Exception {
    try (Mesh mesh = Mesh.start(dir, SPEC, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      int ingestPort = mesh.instance("in", 0).getEndpoint().getPort();
      int egressPort = mesh.instance("out", 0).getEndpoint().getPort();
      List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
      AtomicLong lastSeen = new AtomicLong();
      AtomicReference<Throwable> readFailure = new AtomicReference<>();
      Thread reader = new Thread(() -> {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", egressPort).usePlaintext().build();
        try {
          int retries = 0;
          while (ids.size() < EVENTS) {
            try {
              Iterator<EventBatch> it = EgressServiceGrpc.newBlockingStub(ch).subscribe(
                  SubscribeRequest.newBuilder().setFromSequence(lastSeen.get() + 1).build());
              while (ids.size() < EVENTS && it.hasNext()) {
                EventBatch b = it.next();
                long n = b.getFirstSequence();
                for (Event e : b.getEventsList()) {
                  if (n > lastSeen.get()) {
                    assertThat(n).as("numbers follow each other").isEqualTo(lastSeen.get() + 1);
                    ids.add(e.getId());
                    lastSeen.set(n);
                  }
                  n++;
                }
              }
            } catch (StatusRuntimeException e) {
              if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || ++retries > 100) {
                throw e;
              }
              LockSupport.parkNanos(100_000_000L); // the egress restores; subscribe again
            }
          }
        } catch (Throwable t) {
          readFailure.set(t);
        } finally {
          ch.shutdownNow();
        }
      }, "egress-reader");
      reader.start();
      try (SluiceProducer producer = SluiceProducer.builder("127.0.0.1:" + ingestPort, "egress")
          .maxUnacked(300_000).build()) {
        AtomicReference<Throwable> sendFailure = new AtomicReference<>();
        Thread sender = ExactlyOnce.sendInBackground(producer, 0, EVENTS, 10, 50_000, sendFailure);
        mesh.await(Duration.ofSeconds(30), () -> "nothing reached the subscriber", () -> ids.size() > EVENTS / 4);
        assertThat(mesh.launcher.kill("in-0")).isTrue();
        sender.join(Duration.ofMinutes(2).toMillis());
        assertThat(sendFailure.get()).isNull();
        assertThat(producer.awaitAcked(Duration.ofMinutes(2))).isTrue();
      }
      reader.join(Duration.ofMinutes(2).toMillis());
      assertThat(readFailure.get()).isNull();
      assertThat(ids).hasSize(EVENTS);
      for (int i = 0; i < EVENTS; i++) {
        assertThat(ids.get(i)).isEqualTo("e" + i);
      }
      assertThat(lastSeen.get()).isEqualTo(EVENTS);
    }
  }
}
