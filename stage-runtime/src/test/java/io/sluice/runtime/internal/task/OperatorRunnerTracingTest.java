package io.sluice.runtime.internal.task;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.KnownLength;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.internal.exchange.FrameCodec;
import io.sluice.runtime.internal.exchange.InboundBatch;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.trace.StageTracing;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The process spans OperatorRunner records, on each of its input paths. */
class OperatorRunnerTracingTest {
  private final InMemorySpanExporter exported = InMemorySpanExporter.create();
  private final SdkTracerProvider provider =
      SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exported)).build();
  private final List<Event> sent = new ArrayList<>();
  private final List<String> outputs = new ArrayList<>();
  private final RawOperator.Emitter emitter = new RawOperator.Emitter() {
    @Override
    public void emit(String output, Event event) {
      outputs.add(output);
      sent.add(event);
    }

    @Override
    public void emitRaw(String output, ByteString event) {
      try {
        emit(output, Event.parseFrom(event));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    }
  };
  private final TraceContext sampled = new TraceOrigin(1.0, 11).newRoot().toBuilder().setTraceState("k=v").build();
  private final TraceContext unsampled = new TraceOrigin(0.0, 12).newRoot();

  @AfterEach
  void shutdown() {
    provider.close();
  }

  @Test
  void aSampledEventOnTheWirePathGetsAChildSpanAndItsOutputCarriesIt() throws Exception {
    OperatorRunner<byte[], byte[], byte[], byte[]> runner = runner("upper", Upper::new);
    runner.process(batch(event("e-1", "hello", sampled), event("e-2", "world", unsampled)));

    assertThat(exported.getFinishedSpanItems()).hasSize(1);
    SpanData span = exported.getFinishedSpanItems().get(0);
    assertProcessSpan(span, "upper", "e-1", sampled);
    assertThat(span.getSpanContext().getTraceState().get("k")).isEqualTo("v");

    assertThat(sent).hasSize(2);
    assertThat(sent.get(0).getPayload().toStringUtf8()).isEqualTo("HELLO");
    assertCarries(sent.get(0), span, sampled);
    assertThat(sent.get(1).getTrace()).as("unsampled: the context passes unchanged").isEqualTo(unsampled);
  }

  @Test
  void anUnchangedRecordForwardedFromTheWireIsRetracedInItsBytes() throws Exception {
    OperatorRunner<byte[], byte[], byte[], byte[]> runner = runner("relay", Forward::new);
    Event in = event("e-1", "x", sampled);
    runner.process(batch(in, event("e-2", "y", unsampled)));

    SpanData span = single();
    assertProcessSpan(span, "relay", "e-1", sampled);
    assertCarries(sent.get(0), span, sampled);
    // Nothing but the span id changed.
    assertThat(sent.get(0).toBuilder().setTrace(sampled).build()).isEqualTo(in);
    assertThat(sent.get(1).getTrace()).isEqualTo(unsampled);
  }

  @Test
  void thePassthroughRawPathRecordsSpansForSampledEventsOnly() throws Exception {
    OperatorRunner<byte[], byte[], byte[], byte[]> runner = runner("pass", RawPass::new);
    Event in = event("e-1", "abc", sampled);
    runner.process(batch(event("e-0", "z", unsampled), in, event("e-2", "q", unsampled)));

    SpanData span = single();
    assertProcessSpan(span, "pass", "e-1", sampled);
    assertThat(span.getSpanContext().getTraceState().get("k")).as("read from the bytes").isEqualTo("v");
    assertThat(sent).hasSize(3);
    assertThat(sent.get(0).getTrace()).isEqualTo(unsampled);
    assertCarries(sent.get(1), span, sampled);
    assertThat(sent.get(1).toBuilder().setTrace(sampled).build()).isEqualTo(in);
    assertThat(sent.get(2).getTrace()).isEqualTo(unsampled);
  }

  @Test
  void parsedEventsAndEventsWithAttributesAreTracedToo() {
    OperatorRunner<byte[], byte[], byte[], byte[]> runner = runner("upper", Upper::new);
    runner.process(event("e-1", "ab", sampled).toBuilder().putAttributes("h", "1").build());
    runner.process(event("e-2", "cd", unsampled));

    SpanData span = single();
    assertProcessSpan(span, "upper", "e-1", sampled);
    assertCarries(sent.get(0), span, sampled);
    assertThat(sent.get(1).getTrace()).isEqualTo(unsampled);
  }

  @Test
  void aFailureDeadLettersTheEventAndMarksTheSpan() throws Exception {
    OperatorRunner<byte[], byte[], byte[], byte[]> runner = runner("picky", Picky::new);
    runner.process(batch(event("e-1", "bad", sampled)));

    SpanData span = single();
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getStatus().getDescription()).isEqualTo("no bad payloads");
    assertThat(span.getAttributes().get(AttributeKey.stringKey("error.type")))
        .isEqualTo(IllegalArgumentException.class.getName());
    assertThat(span.getEvents()).anyMatch(e -> e.getName().equals("exception"));
    assertThat(outputs).containsExactly(OutputTag.DEAD_LETTER);
    assertCarries(sent.get(0), span, sampled);
  }

  @Test
  void withTracingOffNothingChanges() throws Exception {
    OperatorRunner<byte[], byte[], byte[], byte[]> runner = new OperatorRunner<>("relay", "relay-0", 0,
        StageDefinition.of(Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), RawPass::new),
        emitter, new Mailbox(System::nanoTime), Clock.systemUTC(), new TaskMetrics(), StageTracing.off());
    Event in = event("e-1", "abc", sampled);
    runner.process(batch(in));
    assertThat(sent).containsExactly(in);
    assertThat(exported.getFinishedSpanItems()).isEmpty();
  }

  private SpanData single() {
    assertThat(exported.getFinishedSpanItems()).hasSize(1);
    return exported.getFinishedSpanItems().get(0);
  }

  private static void assertProcessSpan(SpanData span, String stage, String id, TraceContext parent) {
    assertThat(span.getName()).isEqualTo("process " + stage);
    assertThat(span.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(span.getTraceId()).isEqualTo(TraceId.fromBytes(parent.getTraceId().toByteArray()));
    assertThat(span.getParentSpanId()).isEqualTo(SpanId.fromBytes(parent.getSpanId().toByteArray()));
    assertThat(span.getParentSpanContext().isRemote()).isTrue();
    var a = span.getAttributes();
    assertThat(a.get(AttributeKey.stringKey("messaging.system"))).isEqualTo("sluice");
    assertThat(a.get(AttributeKey.stringKey("messaging.operation.type"))).isEqualTo("process");
    assertThat(a.get(AttributeKey.stringKey("messaging.operation.name"))).isEqualTo("process");
    assertThat(a.get(AttributeKey.stringKey("messaging.destination.name"))).isEqualTo(stage);
    assertThat(a.get(AttributeKey.stringKey("messaging.consumer.group.name"))).isEqualTo(stage);
    assertThat(a.get(AttributeKey.stringKey("messaging.destination.partition.id"))).isEqualTo("3");
    assertThat(a.get(AttributeKey.stringKey("messaging.message.id"))).isEqualTo(id);
    assertThat(a.size()).as("the conventions' attributes and no others").isEqualTo(7);
  }

  /** The event carries the span's context: same trace and state, the span's id, sampled. */
  private static void assertCarries(Event e, SpanData span, TraceContext incoming) {
    assertThat(e.getTrace().getTraceId()).isEqualTo(incoming.getTraceId());
    assertThat(SpanId.fromBytes(e.getTrace().getSpanId().toByteArray())).isEqualTo(span.getSpanId());
    assertThat(e.getTrace().getTraceFlags() & 1).isEqualTo(1);
    assertThat(e.getTrace().getTraceState()).isEqualTo(incoming.getTraceState());
  }

  private OperatorRunner<byte[], byte[], byte[], byte[]> runner(
      String stage, Supplier<Operator<byte[], byte[], byte[], byte[]>> operator) {
    OperatorRunner<byte[], byte[], byte[], byte[]> r = new OperatorRunner<>(stage, stage + "-3", 3,
        StageDefinition.of(Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), operator),
        emitter, new Mailbox(System::nanoTime), Clock.systemUTC(), new TaskMetrics(), StageTracing.using(provider));
    r.init();
    return r;
  }

  private static Event event(String id, String payload, TraceContext trace) {
    return Event.newBuilder().setId(id).setKey(ByteString.copyFromUtf8("k")).setEventTime(1000)
        .setPayload(ByteString.copyFromUtf8(payload)).setTrace(trace).build();
  }

  /** A batch as the data plane receives it: one array, events read in place. */
  private static InboundBatch batch(Event... events) {
    byte[] frame = Frame.newBuilder().setBatch(EventBatch.newBuilder().addAllEvents(List.of(events))).build().toByteArray();
    return (InboundBatch) FrameCodec.INSTANCE.parse(new Known(frame));
  }

  private static final class Known extends ByteArrayInputStream implements KnownLength {
    Known(byte[] b) {
      super(b);
    }
  }

  private static final class Upper implements Operator<byte[], byte[], byte[], byte[]> {
    private OperatorContext<byte[], byte[]> context;

    @Override
    public void init(OperatorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> r) {
      String s = new String(r.value(), StandardCharsets.UTF_8);
      context.forward(r.withValue(s.toUpperCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8)));
    }
  }

  private static final class Forward implements Operator<byte[], byte[], byte[], byte[]> {
    private OperatorContext<byte[], byte[]> context;

    @Override
    public void init(OperatorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> r) {
      context.forward(r);
    }
  }

  private static final class Picky implements Operator<byte[], byte[], byte[], byte[]> {
    @Override
    public void init(OperatorContext<byte[], byte[]> context) {}

    @Override
    public void process(Record<byte[], byte[]> r) {
      throw new IllegalArgumentException("no bad payloads");
    }
  }

  /** Like the passthrough stage: takes and forwards bytes. */
  private static final class RawPass implements Operator<byte[], byte[], byte[], byte[]>, RawOperator {
    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void init(OperatorContext<byte[], byte[]> context) {}

    @Override
    public void process(Record<byte[], byte[]> r) {
      throw new AssertionError("the runner hands this operator bytes");
    }

    @Override
    public void process(Event event, Emitter out) {
      out.emit("", event);
    }

    @Override
    public boolean handlesRawBytes() {
      return true;
    }

    @Override
    public void processRaw(ByteString event, Emitter out) {
      out.emitRaw("", event);
    }
  }
}
