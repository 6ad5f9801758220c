package io.sluice.runtime.internal.trace.otlp;

import com.google.protobuf.ByteString;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Real ExportTraceServiceRequests, built with the generated OTLP classes, for the sender tests. Stateless. */
final class OtlpRequests {
  private OtlpRequests() {}

  /** A request of one resource with {@code spans} spans named {@code name-i}. */
  static ExportTraceServiceRequest request(String name, int spans) {
    ScopeSpans.Builder scope = ScopeSpans.newBuilder()
        .setScope(InstrumentationScope.newBuilder().setName("io.sluice.stage-runtime").setVersion("test"));
    for (int i = 0; i < spans; i++) {
      byte[] traceId = new byte[16];
      byte[] spanId = new byte[8];
      traceId[15] = (byte) (i + 1);
      spanId[7] = (byte) (i + 1);
      scope.addSpans(Span.newBuilder()
          .setTraceId(ByteString.copyFrom(traceId))
          .setSpanId(ByteString.copyFrom(spanId))
          .setName(name + "-" + i)
          .setKind(Span.SpanKind.SPAN_KIND_CONSUMER)
          .setStartTimeUnixNano(1_700_000_000_000_000_000L + i)
          .setEndTimeUnixNano(1_700_000_000_000_500_000L + i)
          .addAttributes(attribute("sluice.stage", "enrich")));
    }
    return ExportTraceServiceRequest.newBuilder()
        .addResourceSpans(ResourceSpans.newBuilder()
            .setResource(Resource.newBuilder().addAttributes(attribute("service.name", "sluice-enrich")))
            .addScopeSpans(scope))
        .build();
  }

  private static KeyValue attribute(String key, String value) {
    return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setStringValue(value)).build();
  }

  /** A loopback port that nothing listens on (it was free a moment ago). */
  static int unusedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
