package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tracing across hops, in separate processes: ingest → filter → file sink export OTLP (gRPC) to a
 * receiver this test runs on loopback. A sampled event's trace has one {@code process} span per
 * stage, each the child of the one before (the ingest's the child of the client's span, or a
 * root), with the messaging conventions' attributes; an event the client marked unsampled has none.
 */
@Tag("integration")
class TracingIT {
  private static final int EACH = 10;

  @Test
  void aSampledEventHasASpanFromEveryStageLinkedParentToChild(
      @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    Receiver receiver = new Receiver();
    Server collector = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(receiver).build().start();
    String yaml = """
        pipeline: traced
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
            tracing: {sampleRatio: 1.0}
          - name: buys
            type: filter
            from: in
            where: {field: $.action, equals: purchase}
          - name: out
            type: file-sink
            from: buys
            path: out/buys.jsonl
        """;
    // Client contexts: one per event, sampled or not; the third kind of event comes without one.
    Map<String, TraceContext> clientSampled = new HashMap<>();
    Map<String, TraceContext> clientUnsampled = new HashMap<>();
    List<Event> events = new ArrayList<>();
    TraceOrigin yes = new TraceOrigin(1.0, 1);
    TraceOrigin no = new TraceOrigin(0.0, 2);
    for (int i = 0; i < 3 * EACH; i++) {
      String id = "t-" + i;
      Event.Builder e = Event.newBuilder().setId(id).setKey(ByteString.copyFromUtf8("k" + i))
          .setEventTime(1_767_225_600_000L + i)
          .setPayload(ByteString.copyFromUtf8("{\"action\": \"purchase\", \"i\": " + i + "}"));
      if (i % 3 == 0) {
        TraceContext t = yes.newRoot().toBuilder().setTraceState("vendor=x").build();
        clientSampled.put(id, t);
        e.setTrace(t);
      } else if (i % 3 == 1) {
        TraceContext t = no.newRoot();
        clientUnsampled.put(id, t);
        e.setTrace(t);
      }
      events.add(e.build());
    }
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm(), b -> b
        .environment("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getPort())
        .environment("OTEL_BSP_SCHEDULE_DELAY", "100"))) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      mesh.publish("in", 0, "tracer", BadInputIT.listSource(events));
      mesh.drain(Duration.ofMinutes(1));
      assertThat(mesh.readSink("out/buys.jsonl")).hasSize(events.size());
      int expected = 3 * (events.size() - clientUnsampled.size());
      // Draining stops the processes, which flush their batch processors on the way out.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (receiver.spans().size() < expected && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
    } finally {
      collector.shutdownNow();
    }

    Map<String, List<Received>> byEvent = receiver.spans().stream()
        .collect(Collectors.groupingBy(r -> r.attribute("messaging.message.id")));
    for (String id : clientUnsampled.keySet()) {
      assertThat(byEvent.get(id)).as("spans of unsampled %s", id).isNull();
    }
    for (Event e : events) {
      if (clientUnsampled.containsKey(e.getId())) {
        continue;
      }
      List<Received> spans = byEvent.get(e.getId());
      assertThat(spans).as("spans of %s", e.getId()).isNotNull();
      Map<String, List<Received>> byService = spans.stream().collect(Collectors.groupingBy(Received::service));
      assertThat(byService.keySet()).as("services of %s", e.getId())
          .containsExactlyInAnyOrder("sluice-in", "sluice-buys", "sluice-out");
      Received in = only(byService.get("sluice-in"));
      Received buys = only(byService.get("sluice-buys"));
      Received out = only(byService.get("sluice-out"));
      TraceContext client = clientSampled.get(e.getId());
      if (client != null) {
        assertThat(in.span.getTraceId()).isEqualTo(client.getTraceId());
        assertThat(in.span.getParentSpanId()).as("the ingest continues the client's span").isEqualTo(client.getSpanId());
        assertThat(in.span.getTraceState()).isEqualTo("vendor=x");
      } else {
        assertThat(in.span.getParentSpanId()).as("a new trace starts at the ingest").isEmpty();
      }
      assertThat(buys.span.getTraceId()).isEqualTo(in.span.getTraceId());
      assertThat(out.span.getTraceId()).isEqualTo(in.span.getTraceId());
      assertThat(buys.span.getParentSpanId()).isEqualTo(in.span.getSpanId());
      assertThat(out.span.getParentSpanId()).isEqualTo(buys.span.getSpanId());
      for (Received r : List.of(in, buys, out)) {
        String stage = r.service().substring("sluice-".length());
        assertThat(r.span.getName()).isEqualTo("process " + stage);
        assertThat(r.span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CONSUMER);
        assertThat(r.attribute("messaging.system")).isEqualTo("sluice");
        assertThat(r.attribute("messaging.operation.type")).isEqualTo("process");
        assertThat(r.attribute("messaging.operation.name")).isEqualTo("process");
        assertThat(r.attribute("messaging.destination.name")).isEqualTo(stage);
        assertThat(r.attribute("messaging.consumer.group.name")).isEqualTo(stage);
        assertThat(r.attribute("messaging.destination.partition.id")).isEqualTo("0");
        assertThat(r.resource("service.instance.id")).startsWith(stage);
        assertThat(r.span.getAttributesCount()).as("the conventions' attributes and no others").isEqualTo(7);
        assertThat(r.span.getEndTimeUnixNano()).isGreaterThanOrEqualTo(r.span.getStartTimeUnixNano());
      }
    }
  }

  private static Received only(List<Received> spans) {
    assertThat(spans).hasSize(1);
    return spans.get(0);
  }

  /** A span as received, with its resource. */
  private record Received(Resource resource, Span span) {
    String service() {
      return resource("service.name");
    }

    String resource(String key) {
      return value(resource.getAttributesList(), key).getStringValue();
    }

    String attribute(String key) {
      return value(span.getAttributesList(), key).getStringValue();
    }

    private static io.opentelemetry.proto.common.v1.AnyValue value(List<KeyValue> attributes, String key) {
      return attributes.stream().filter(kv -> kv.getKey().equals(key)).findFirst()
          .orElseThrow(() -> new AssertionError("no attribute " + key + " in " + attributes))
          .getValue();
    }
  }

  /** An OTLP/gRPC trace receiver that keeps every span. */
  private static final class Receiver extends TraceServiceGrpc.TraceServiceImplBase {
    private final List<Received> spans = new ArrayList<>();

    @Override
    public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> response) {
      synchronized (spans) {
        for (ResourceSpans rs : request.getResourceSpansList()) {
          for (ScopeSpans ss : rs.getScopeSpansList()) {
            for (Span s : ss.getSpansList()) {
              spans.add(new Received(rs.getResource(), s));
            }
          }
        }
      }
      response.onNext(ExportTraceServiceResponse.getDefaultInstance());
      response.onCompleted();
    }

    List<Received> spans() {
      synchronized (spans) {
        return List.copyOf(spans);
      }
    }
  }
}
