package io.sluice.bench.mesh;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OTLP/gRPC trace receiver on loopback that counts the spans it is sent and discards them, so
 * the benchmark measures what exporting costs the stages, not what storing costs a collector.
 *
 * <p>Threading: thread-safe; the counters are read from any thread.
 */
final class SpanCounter extends TraceServiceGrpc.TraceServiceImplBase implements AutoCloseable {
  private final AtomicLong spans = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private Server server;

  private SpanCounter() {}

  static SpanCounter start() throws IOException {
    SpanCounter c = new SpanCounter();
    c.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .maxInboundMessageSize(64 * 1024 * 1024).addService(c).build().start();
    return c;
  }

  /** Where the stages export to (OTEL_EXPORTER_OTLP_ENDPOINT). */
  String endpoint() {
    return "http://127.0.0.1:" + server.getPort();
  }

  long spans() {
    return spans.get();
  }

  long requests() {
    return requests.get();
  }

  @Override
  public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> response) {
    long n = 0;
    for (ResourceSpans rs : request.getResourceSpansList()) {
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        n += ss.getSpansCount();
      }
    }
    spans.addAndGet(n);
    requests.incrementAndGet();
    response.onNext(ExportTraceServiceResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }
}
