package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.EgressServiceGrpc;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.SubscribeRequest;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Events read back through egress, in separate processes: every event carries a valid W3C trace
 * context from the ingest on; a client's own context is continued, not replaced; egress numbers
 * what it delivers.
 */
@Tag("integration")
class EgressTraceIT {
  @Test
  void everyEventCarriesATraceContextAndClientContextsAreContinued(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: traced
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
          - name: relay
            type: passthrough
            from: in
          - name: out
            type: egress
            from: relay
        """;
    TraceContext clientTrace = new TraceOrigin(1.0, 99).newRoot();
    List<Event> events = new ArrayList<>();
    for (int i = 1; i <= 500; i++) {
      Event.Builder e = Event.newBuilder().setId("t-" + i).setKey(ByteString.copyFromUtf8("k"))
          .setEventTime(1_767_225_600_000L + i).setPayload(ByteString.copyFromUtf8("{\"i\": " + i + "}"));
      if (i % 5 == 0) {
        e.setTrace(clientTrace);
      }
      events.add(e.build());
    }
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      mesh.publish("in", 0, "tracer", BadInputIT.listSource(events));
      Map<String, Event> received = new ConcurrentHashMap<>();
      List<Long> firstSequences = new ArrayList<>();
      CountDownLatch all = new CountDownLatch(1);
      ManagedChannel ch = mesh.channelTo("out", 0);
      // from_sequence 1: egress replays what it holds, so subscribing after publishing misses nothing.
      SubscribeRequest fromStart = SubscribeRequest.newBuilder().setFromSequence(1).build();
      EgressServiceGrpc.newStub(ch).subscribe(fromStart, new StreamObserver<EventBatch>() {
        @Override
        public void onNext(EventBatch b) {
          synchronized (firstSequences) {
            firstSequences.add(b.getFirstSequence());
          }
          for (Event e : b.getEventsList()) {
            received.put(e.getId(), e);
          }
          if (received.size() >= events.size()) {
            all.countDown();
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
      assertThat(all.await(60, TimeUnit.SECONDS)).as("all events read back through egress").isTrue();
      ch.shutdownNow();
      mesh.drain(Duration.ofMinutes(1));

      assertThat(received).hasSize(events.size());
      for (Event e : received.values()) {
        assertThat(TraceOrigin.isValid(e.getTrace())).as("trace of %s", e.getId()).isTrue();
        int i = Integer.parseInt(e.getId().substring(2));
        if (i % 5 == 0) {
          assertThat(e.getTrace()).as("client context continued").isEqualTo(clientTrace);
        } else {
          assertThat(e.getTrace().getTraceId()).isNotEqualTo(clientTrace.getTraceId());
        }
      }
      assertThat(firstSequences.get(0)).isEqualTo(1L);
    }
  }
}
