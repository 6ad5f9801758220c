package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.sluice.cli.local.LocalLauncher;
import io.sluice.cli.send.EventSource;
import io.sluice.coordinator.spec.SpecException;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Feedback;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.StageServiceGrpc;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true 5: bad specs are rejected before anything starts, naming the stage and the line;
 * malformed payloads go to dead letters with the reason while the pipeline keeps going; an
 * oversized frame gets RESOURCE_EXHAUSTED and disturbs nothing else.
 */
@Tag("integration")
class BadInputIT {

  @Test
  void badSpecsAreRejectedNamingTheStageAndLine(@TempDir Path dir) throws Exception {
    assertRejected(dir, "unknown.yaml", """
        pipeline: bad
        stages:
          - name: in
            type: ingest
          - name: shout
            type: uppercase
            from: in
        """, "unknown.yaml:6:", "stage 'shout'", "uppercase");
    assertRejected(dir, "missing.yaml", """
        pipeline: bad
        stages:
          - name: in
            type: ingest
          - name: buys
            type: filter
            from: nowhere
            where: {field: $.a, equals: 1}
        """, "missing.yaml:7:", "stage 'buys'", "nowhere");
    assertRejected(dir, "cycle.yaml", """
        pipeline: bad
        stages:
          - name: in
            type: ingest
          - name: a
            type: passthrough
            from: [in, b]
          - name: b
            type: passthrough
            from: a
        """, "cycle.yaml:7:", "stage 'a'", "cycle");
    assertRejected(dir, "duration.yaml", """
        pipeline: bad
        heartbeat: {interval: 1s, timeout: 5s}
        stages:
          - name: in
            type: ingest
            watermark: {maxOutOfOrder: 2 fortnights}
          - name: out
            type: stdout-sink
            from: in
        """, "duration.yaml:6:", "stage 'in'", "maxOutOfOrder");
  }

  private static void assertRejected(Path dir, String file, String yaml, String... mentions) throws Exception {
    Path spec = dir.resolve(file);
    Files.writeString(spec, yaml);
    assertThatThrownBy(() -> LocalLauncher.validate(spec))
        .isInstanceOf(SpecException.class)
        .satisfies(e -> {
          for (String m : mentions) {
            assertThat(e.getMessage()).contains(m);
          }
        });
  }

  @Test
  void sluiceUpRejectsABadSpecAndStartsNothing(@TempDir Path dir) throws Exception {
    int port = Mesh.freePort();
    Path spec = dir.resolve("bad.yaml");
    Files.writeString(spec, """
        pipeline: bad
        coordinator: {port: %d}
        stages:
          - name: in
            type: ingest
          - name: out
            type: file-sink
            from: missing-stage
            path: out.jsonl
        """.formatted(port));
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "io.sluice.cli.Main", "up", spec.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isEqualTo(2);
    assertThat(out).contains("bad.yaml:8:").contains("stage 'out'").contains("missing-stage");
    assertThat(Files.exists(dir.resolve(".sluice"))).as("no process started, no logs").isFalse();
    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).as("no coordinator listening").isInstanceOf(java.io.IOException.class);
  }

  @Test
  void malformedPayloadsAreDeadLetteredAndOversizedFramesRefused(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: dirty
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
          - name: buys
            type: filter
            from: in
            where: {field: $.action, equals: purchase}
          - name: out
            type: file-sink
            from: buys
            path: out/buys.jsonl
          - name: dead
            type: file-sink
            from: {stage: buys, output: dead-letter}
            path: out/dead.jsonl
        """;
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      // Every 10th event carries a payload that is not JSON.
      List<String> good = new ArrayList<>();
      List<String> bad = new ArrayList<>();
      List<Event> events = new ArrayList<>();
      for (int i = 1; i <= 1_000; i++) {
        String id = "d-" + i;
        boolean broken = i % 10 == 0;
        String payload = broken ? "{\"action\": \"purchase\", oops" : "{\"action\": \"purchase\", \"n\": " + i + "}";
        (broken ? bad : good).add(id);
        events.add(Event.newBuilder().setId(id).setKey(ByteString.copyFromUtf8("k" + (i % 7)))
            .setEventTime(1_767_225_600_000L + i).setPayload(ByteString.copyFromUtf8(payload)).build());
      }
      mesh.publish("in", 0, "dirty", listSource(events));

      // A frame over the 4 MiB limit, straight at the filter's data plane.
      ManagedChannel ch = mesh.channelTo("buys", 0);
      CompletableFuture<Throwable> closed = new CompletableFuture<>();
      StreamObserver<Frame> frames = StageServiceGrpc.newStub(ch).exchange(new StreamObserver<Feedback>() {
        @Override
        public void onNext(Feedback value) {}

        @Override
        public void onError(Throwable t) {
          closed.complete(t);
        }

        @Override
        public void onCompleted() {
          closed.complete(null);
        }
      });
      frames.onNext(Frame.newBuilder().setOpen(ChannelOpen.newBuilder()
          .setPipeline("dirty").setFromStage("intruder").setFromInstance("intruder-0").setToInstance("buys-0")).build());
      frames.onNext(Frame.newBuilder().setBatch(EventBatch.newBuilder().addEvents(Event.newBuilder()
          .setId("huge").setPayload(ByteString.copyFrom(new byte[5 * 1024 * 1024])))).build());
      Throwable t = closed.get(30, TimeUnit.SECONDS);
      assertThat(t).isInstanceOf(StatusRuntimeException.class);
      Status status = Status.fromThrowable(t);
      assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(status.getDescription()).containsIgnoringCase("exceeds maximum");
      ch.shutdownNow();

      // The pipeline is undisturbed: more events still flow end to end.
      List<Event> more = new ArrayList<>();
      for (int i = 1_001; i <= 1_100; i++) {
        good.add("d-" + i);
        more.add(Event.newBuilder().setId("d-" + i).setKey(ByteString.copyFromUtf8("k"))
            .setEventTime(1_767_225_600_000L + i)
            .setPayload(ByteString.copyFromUtf8("{\"action\": \"purchase\"}")).build());
      }
      mesh.publish("in", 0, "dirty-2", listSource(more));
      mesh.drain(Duration.ofMinutes(2));

      assertThat(FanOutFanInIT.ids(mesh.readSink("out/buys.jsonl"))).containsExactlyInAnyOrderElementsOf(good);
      List<JsonNode> dead = mesh.readSink("out/dead.jsonl");
      assertThat(FanOutFanInIT.ids(dead)).containsExactlyInAnyOrderElementsOf(bad);
      for (JsonNode d : dead) {
        assertThat(d.get("error").asText()).contains("malformed JSON payload");
      }
    }
  }

  static EventSource listSource(List<Event> events) {
    return new EventSource() {
      int i;

      @Override
      public Event next() {
        return i < events.size() ? events.get(i++) : null;
      }

      @Override
      public void close() {}
    };
  }
}
