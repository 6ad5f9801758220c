package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.internal.otlp.traces.TraceRequestMarshaler;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanLimits;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The encoder's requests against the SDK's own OTLP marshaler: both are parsed with the OTLP
 * protobuf classes and must be the same message, for spans that use every part of the format.
 */
class OtlpSpanEncoderTest {
  private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
  private static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
  private static final AttributeKey<Long> SIZE = AttributeKey.longKey("messaging.message.body.size");

  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private final SdkTracerProvider provider = SdkTracerProvider.builder()
      .setResource(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "sluice-test",
          AttributeKey.stringKey("service.instance.id"), "test-0"), "https://opentelemetry.io/schemas/1.30.0"))
      .setSpanLimits(SpanLimits.builder().setMaxNumberOfAttributes(12).setMaxNumberOfEvents(2)
          .setMaxNumberOfLinks(1).setMaxNumberOfAttributesPerEvent(1).build())
      .addSpanProcessor(SimpleSpanProcessor.create(spans))
      .build();
  private final OtlpSpanEncoder encoder = new OtlpSpanEncoder();

  @AfterEach
  void close() {
    provider.close();
  }

  @Test
  void everyPartOfASpanIsEncodedAsTheSdkEncodesIt() throws Exception {
    Tracer tracer = provider.tracerBuilder("io.sluice.test").setInstrumentationVersion("1.2.3")
        .setSchemaUrl("https://opentelemetry.io/schemas/1.29.0").build();
    SpanContext remote = SpanContext.createFromRemoteParent("0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331", TraceFlags.getSampled(), TraceState.builder().put("vendor", "x1").put("other", "y").build());
    Span child = tracer.spanBuilder("process relay ü")
        .setParent(Context.root().with(Span.wrap(remote)))
        .setSpanKind(SpanKind.CONSUMER)
        .setAttribute(SYSTEM, "sluice")
        .setAttribute(MESSAGE_ID, "m-1")
        .setAttribute(SIZE, -5L)
        .setAttribute(AttributeKey.booleanKey("b"), true)
        .setAttribute(AttributeKey.doubleKey("d"), 2.5)
        .setAttribute(AttributeKey.stringArrayKey("sa"), List.of("a", "Ωmega"))
        .setAttribute(AttributeKey.longArrayKey("la"), List.of(1L, -1L, Long.MAX_VALUE))
        .setAttribute(AttributeKey.booleanArrayKey("ba"), List.of(true, false))
        .setAttribute(AttributeKey.doubleArrayKey("da"), List.of(0.0, -1e300))
        .setAttribute("big", "x".repeat(20_000)) // lengths of 3 bytes: the message bytes move along
        .addLink(SpanContext.create("1af7651916cd43dd8448eb211c80319c", "c7ad6b7169203331", TraceFlags.getDefault(),
            TraceState.builder().put("k", "v").build()), Attributes.of(AttributeKey.stringKey("link"), "1"))
        .addLink(SpanContext.create("2af7651916cd43dd8448eb211c80319c", "d7ad6b7169203331", TraceFlags.getSampled(),
            TraceState.getDefault()))
        .startSpan();
    child.addEvent("first", Attributes.of(AttributeKey.stringKey("a"), "1", AttributeKey.longKey("b"), 2L));
    child.recordException(new IllegalStateException("broken"));
    child.addEvent("third (dropped)");
    child.setStatus(StatusCode.ERROR, "dead-lettered");
    for (int i = 0; i < 5; i++) {
      child.setAttribute("extra." + i, i); // past the limit of 12: dropped and counted
    }
    child.end();
    Span root = tracer.spanBuilder("root").setNoParent().startSpan();
    root.setStatus(StatusCode.OK);
    root.end();
    Span unsampledParent = provider.get("io.sluice.other").spanBuilder("local child")
        .setParent(Context.root().with(root)).setSpanKind(SpanKind.PRODUCER).startSpan();
    unsampledParent.end();

    assertSameAsSdk(spans.getFinishedSpanItems());
  }

  @Test
  void constantAttributesKeptFromEarlierSpansStayCorrectWhenValuesChange() throws Exception {
    Tracer tracer = provider.get("io.sluice.test");
    Attributes common = Attributes.of(SYSTEM, "sluice", AttributeKey.stringKey("messaging.destination.name"), "relay");
    for (int batch = 0; batch < 4; batch++) {
      spans.reset();
      for (int i = 0; i < 5; i++) {
        var span = tracer.spanBuilder("process relay").setAllAttributes(common)
            .setAttribute(MESSAGE_ID, "m-" + batch + "-" + i)
            .setAttribute(SIZE, (long) i)
            // the same value for a while, then another object: the kept bytes must not be reused
            .setAttribute(AttributeKey.stringKey("phase"), batch < 2 ? "early" : new String("late" + i % 2));
        if (i % 2 == 1) {
          // other keys move the attributes to other positions than in the span before
          span.setAttribute(AttributeKey.stringKey("a.key.of.odd.spans"), "odd")
              .setAttribute(AttributeKey.booleanKey("another"), true);
        }
        span.startSpan().end();
      }
      assertSameAsSdk(spans.getFinishedSpanItems());
    }
  }

  /**
   * Where the encoder differs from the SDK on purpose: an empty string is sent as an empty
   * string value, where the SDK leaves the value unset (which OTLP reads as no value at all).
   */
  @Test
  void anEmptyStringStaysAnEmptyString() throws Exception {
    provider.get("io.sluice.test").spanBuilder("empty").setAttribute(MESSAGE_ID, "")
        .setAttribute(AttributeKey.stringArrayKey("sa"), List.of("")).startSpan().end();
    var span = ExportTraceServiceRequest.parseFrom(encoder.encode(spans.getFinishedSpanItems()))
        .getResourceSpans(0).getScopeSpans(0).getSpans(0);
    assertThat(span.getAttributesList()).allSatisfy(kv -> assertThat(kv.getValue().hasStringValue()
        || kv.getValue().getArrayValue().getValues(0).hasStringValue()).isTrue());
    assertThat(span.getAttributesList()).hasSize(2);
  }

  /**
   * Spans of two processes' resources, interleaved, with scopes that have schema URLs (one not
   * ASCII) and spans big enough that every nested length takes several bytes: the request's sizes
   * are added up before it is written, and must match what is written.
   */
  @Test
  void spansOfTwoResourcesAndManyScopesAreGroupedWithTheirSizes() throws Exception {
    InMemorySpanExporter otherSpans = InMemorySpanExporter.create();
    try (SdkTracerProvider other = SdkTracerProvider.builder()
        .setResource(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "sluice-other"),
            "https://example.com/schémas/2"))
        .addSpanProcessor(SimpleSpanProcessor.create(otherSpans))
        .build()) {
      Tracer a = provider.tracerBuilder("scope-a").setSchemaUrl("https://example.com/schémas/1").build();
      Tracer b = provider.get("scope-b");
      Tracer c = other.get("scope-c");
      List<SpanData> batch = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        Tracer t = i % 3 == 0 ? a : i % 3 == 1 ? b : c;
        t.spanBuilder("span " + i).setAttribute(MESSAGE_ID, "m".repeat(i + 1)).startSpan().end();
        batch.addAll(i % 3 == 2 ? otherSpans.getFinishedSpanItems() : spans.getFinishedSpanItems());
        spans.reset();
        otherSpans.reset();
      }
      ByteArrayOutputStream sdk = new ByteArrayOutputStream();
      TraceRequestMarshaler.create(batch).writeBinaryTo(sdk);
      ExportTraceServiceRequest expected = normalized(ExportTraceServiceRequest.parseFrom(sdk.toByteArray()));
      byte[] request = encoder.encode(batch);
      ExportTraceServiceRequest actual = normalized(ExportTraceServiceRequest.parseFrom(request));
      assertThat(actual.getResourceSpansList()).hasSize(2);
      assertThat(actual).isEqualTo(expected);
      assertThat(request).hasSize(actual.getSerializedSize());
    }
  }

  @Test
  void anEmptyBatchIsAnEmptyRequest() {
    assertThat(encoder.encode(List.of())).isEmpty();
  }

  private void assertSameAsSdk(List<SpanData> batch) throws Exception {
    ByteArrayOutputStream sdk = new ByteArrayOutputStream();
    TraceRequestMarshaler.create(batch).writeBinaryTo(sdk);
    ExportTraceServiceRequest expected = normalized(ExportTraceServiceRequest.parseFrom(sdk.toByteArray()));
    ExportTraceServiceRequest actual = normalized(ExportTraceServiceRequest.parseFrom(encoder.encode(batch)));
    assertThat(actual.getResourceSpansList()).hasSize(1);
    assertThat(actual).isEqualTo(expected);
  }

  /**
   * Resources and scopes in name order: the SDK groups through hash maps, so its order is
   * arbitrary.
   */
  private static ExportTraceServiceRequest normalized(ExportTraceServiceRequest request) {
    ExportTraceServiceRequest.Builder b = request.toBuilder();
    List<ResourceSpans> resources = new ArrayList<>(b.getResourceSpansList());
    resources.sort(Comparator.comparing(r -> r.getResource().toString()));
    b.clearResourceSpans().addAllResourceSpans(resources);
    for (ResourceSpans.Builder rs : b.getResourceSpansBuilderList()) {
      List<ScopeSpans> scopes = new ArrayList<>(rs.getScopeSpansList());
      scopes.sort(Comparator.comparing(s -> s.getScope().getName()));
      rs.clearScopeSpans().addAllScopeSpans(scopes);
    }
    return b.build();
  }
}
