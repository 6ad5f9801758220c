package io.sluice.bench.mesh;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import com.sun.net.httpserver.HttpServer;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An OTLP trace receiver on loopback, over gRPC and over HTTP ({@code POST /v1/traces},
 * protobuf), that counts the spans it is sent and discards them, so
 * the benchmark measures what exporting costs the stages, not what storing costs a collector.
 *
 * <p>It shares the machine's cores with the stages, so it does as little as a receiver can: the
 * request stays bytes and the spans are counted by walking the protobuf tags (resource spans →
 * scope spans → spans), without building the messages. A full parse cost about a tenth of the
 * two cores at 1% sampling, which the stages' figures would otherwise pay for.
 *
 * <p>Threading: thread-safe; the counters are read from any thread.
 */
final class SpanCounter implements AutoCloseable {
  private static final byte[] EMPTY_RESPONSE = new byte[0]; // ExportTraceServiceResponse{}
  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        if (stream instanceof KnownLength) {
          // grpc hands a message over as a stream that knows its length: one array, one copy
          // (readAllBytes would read it in chunks and then copy them together).
          byte[] b = new byte[stream.available()];
          if (stream.readNBytes(b, 0, b.length) != b.length || stream.read() >= 0) {
            throw new IOException("the request's stream did not hold the " + b.length + " bytes it announced");
          }
          return b;
        }
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private final AtomicLong spans = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  // Spans by the service.name of their resource: "sluice-<stage>" for a stage's.
  private final ConcurrentHashMap<String, AtomicLong> byService = new ConcurrentHashMap<>();
  private Server server;
  private HttpServer http;

  private SpanCounter() {}

  static SpanCounter start() throws IOException {
    SpanCounter c = new SpanCounter();
    MethodDescriptor<byte[], byte[]> export = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(TraceServiceGrpc.getExportMethod().getFullMethodName())
        .setRequestMarshaller(BYTES)
        .setResponseMarshaller(BYTES)
        .build();
    ServerServiceDefinition service = ServerServiceDefinition.builder(TraceServiceGrpc.SERVICE_NAME)
        .addMethod(export, ServerCalls.asyncUnaryCall((request, response) -> {
          c.spans.addAndGet(countSpans(request, c.byService));
          c.requests.incrementAndGet();
          c.bytes.addAndGet(request.length);
          response.onNext(EMPTY_RESPONSE);
          response.onCompleted();
        }))
        .build();
    c.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        // Counting a request's spans is a walk over its tags: do it on the transport's thread
        // rather than wake an executor thread for each request.
        .directExecutor()
        .maxInboundMessageSize(64 * 1024 * 1024).addService(service).build().start();
    c.http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    c.http.createContext("/v1/traces", exchange -> {
      try (exchange) {
        byte[] request = exchange.getRequestBody().readAllBytes();
        c.spans.addAndGet(countSpans(request, c.byService));
        c.requests.incrementAndGet();
        c.bytes.addAndGet(request.length);
        exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
        exchange.sendResponseHeaders(200, -1); // an empty ExportTraceServiceResponse
      }
    });
    c.http.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "otlp-http-receiver");
      t.setDaemon(true);
      return t;
    }));
    c.http.start();
    c.warmUp();
    return c;
  }

  /**
   * Sends the receiver requests like the stages' (64 spans with the messaging attributes) until
   * the JIT has compiled its path, then zeroes the counters. A collector in production has long
   * been running when a stage's spans arrive; without this the benchmark would charge the
   * receiver's compilation (several seconds of CPU on the same two cores) to tracing.
   */
  private void warmUp() {
    long t0 = System.nanoTime();
    ExportTraceServiceRequest request = sampleRequest();
    byte[] bytes = request.toByteArray();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      var stub = TraceServiceGrpc.newBlockingStub(channel);
      // Enough calls for the per-request path to reach the optimising compiler (C2 compiles a
      // method after some 5,000 to 10,000 calls).
      for (int i = 0; i < 12_000; i++) {
        stub.export(request);
        countSpans(bytes, byService);
      }
    } finally {
      channel.shutdownNow();
    }
    spans.set(0);
    byService.clear();
    requests.set(0);
    this.bytes.set(0);
    System.out.printf(Locale.ROOT, "  (the OTLP receiver warmed up in %.1f s)%n", (System.nanoTime() - t0) / 1e9);
  }

  private static ExportTraceServiceRequest sampleRequest() {
    ScopeSpans.Builder scope = ScopeSpans.newBuilder()
        .setScope(InstrumentationScope.newBuilder().setName("io.sluice.stage-runtime"));
    for (int i = 0; i < 64; i++) {
      Span.Builder span = Span.newBuilder()
          .setTraceId(ByteString.copyFrom(new byte[16]))
          .setSpanId(ByteString.copyFrom(new byte[8]))
          .setParentSpanId(ByteString.copyFrom(new byte[8]))
          .setName("process relay1")
          .setKind(Span.SpanKind.SPAN_KIND_CONSUMER)
          .setStartTimeUnixNano(i)
          .setEndTimeUnixNano(i + 1000);
      for (String key : new String[] {"messaging.system", "messaging.operation.type", "messaging.operation.name",
          "messaging.destination.name", "messaging.consumer.group.name", "messaging.destination.partition.id",
          "messaging.message.id"}) {
        span.addAttributes(KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setStringValue("v" + i)));
      }
      scope.addSpans(span);
    }
    return ExportTraceServiceRequest.newBuilder()
        .addResourceSpans(ResourceSpans.newBuilder().addScopeSpans(scope))
        .build();
  }

  /**
   * The number of spans in a serialized ExportTraceServiceRequest; adds each resource's spans to
   * {@code byService} under its {@code service.name} ("" when it has none).
   */
  static long countSpans(byte[] request, ConcurrentHashMap<String, AtomicLong> byService) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(request);
      long n = 0;
      for (int tag; (tag = in.readTag()) != 0; ) {
        if (!isMessage(tag, ExportTraceServiceRequest.RESOURCE_SPANS_FIELD_NUMBER)) {
          in.skipField(tag);
          continue;
        }
        int limit = in.pushLimit(in.readRawVarint32());
        String service = "";
        long spans = 0;
        for (int t; (t = in.readTag()) != 0; ) {
          if (isMessage(t, ResourceSpans.RESOURCE_FIELD_NUMBER)) {
            service = serviceName(in.readByteArray());
          } else if (isMessage(t, ResourceSpans.SCOPE_SPANS_FIELD_NUMBER)) {
            int scope = in.pushLimit(in.readRawVarint32());
            spans += countFields(in, ScopeSpans.SPANS_FIELD_NUMBER);
            in.popLimit(scope);
          } else {
            in.skipField(t);
          }
        }
        in.popLimit(limit);
        n += spans;
        byService.computeIfAbsent(service, k -> new AtomicLong()).addAndGet(spans);
      }
      return n;
    } catch (IOException e) {
      throw new UncheckedIOException("malformed ExportTraceServiceRequest", e);
    }
  }

  private static boolean isMessage(int tag, int field) {
    return WireFormat.getTagFieldNumber(tag) == field
        && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
  }

  /** The occurrences of message field {@code field} up to the current limit, skipped over. */
  private static long countFields(CodedInputStream in, int field) throws IOException {
    long n = 0;
    for (int tag; (tag = in.readTag()) != 0; ) {
      if (isMessage(tag, field)) {
        n++;
      }
      in.skipField(tag);
    }
    return n;
  }

  /** The {@code service.name} of a serialized Resource; "" when it has none. Once per request. */
  private static String serviceName(byte[] resource) throws IOException {
    for (KeyValue kv : Resource.parseFrom(resource).getAttributesList()) {
      if (kv.getKey().equals("service.name")) {
        return kv.getValue().getStringValue();
      }
    }
    return "";
  }

  /** Where the stages export to (OTEL_EXPORTER_OTLP_ENDPOINT) over {@code protocol}. */
  String endpoint(String protocol) {
    return switch (protocol) {
      case "grpc" -> "http://127.0.0.1:" + server.getPort();
      case "http/protobuf" -> "http://127.0.0.1:" + http.getAddress().getPort();
      default -> throw new IllegalArgumentException("--otlp-protocol is grpc or http/protobuf, not " + protocol);
    };
  }

  long spans() {
    return spans.get();
  }

  long requests() {
    return requests.get();
  }

  /**
   * Prints what was received and checks it: every event the source sampled should have given
   * {@code spansPerEvent} spans, one from each stage that records one, so the source's own spans
   * (those of service {@code source}, one per sampled event) say exactly how many to expect.
   * How many the source sampled is checked against {@code ratio} of {@code events}: each event is
   * sampled by chance, so that count is binomial, and within 3 sigma of the mean is chance. Also
   * prints the CPU this JVM (receiver and benchmark) took.
   */
  void print(double ratio, long events, int spansPerEvent, String source, double ownCpuSeconds) {
    long sampled = spansOf(source);
    long expected = sampled * spansPerEvent;
    long lost = expected - spans();
    double mean = ratio * events;
    double threeSigma = 3 * Math.sqrt(events * ratio * (1 - ratio));
    StringBuilder by = new StringBuilder();
    new TreeMap<>(byService).forEach((k, v) -> by.append(by.length() == 0 ? "" : "; ")
        .append(k.isEmpty() ? "(no service.name)" : k).append(' ').append(String.format(Locale.ROOT, "%,d", v.get())));
    System.out.printf(Locale.ROOT, "  tracing at ratio %s: %,d spans received (%s), %,d export requests, %,.1f MB%n",
        ratio, spans(), by, requests(), bytes() / 1e6);
    System.out.printf(Locale.ROOT, "  %s sampled %,d events (%,.0f ± %,.0f expected at this ratio%s); %s%n",
        source, sampled, mean, threeSigma, Math.abs(sampled - mean) > threeSigma ? ": beyond chance" : "",
        lost == 0 ? "every one of their " + String.format(Locale.ROOT, "%,d", expected) + " spans arrived"
            : lost > 0 ? String.format(Locale.ROOT, "%,d of their %,d spans lost (%.2f%%)", lost, expected,
                100.0 * lost / expected)
            : String.format(Locale.ROOT, "%,d spans more than their %,d", -lost, expected));
    System.out.printf(Locale.ROOT, "  benchmark and receiver (this JVM) CPU %5.1f s%n", ownCpuSeconds);
  }

  /** The spans received from {@code service} (by its resource's service.name). */
  long spansOf(String service) {
    AtomicLong n = byService.get(service);
    return n == null ? 0 : n.get();
  }

  /** The bytes of the requests received (uncompressed). */
  long bytes() {
    return bytes.get();
  }

  @Override
  public void close() {
    http.stop(0);
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
