package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.common.CompletableResultCode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OTLP/gRPC sender against a TraceService on loopback Netty, plaintext and TLS. */
class GrpcOtlpSenderTest {
  private static final Duration FAST_BACKOFF = Duration.ofMillis(10);

  @TempDir static Path dir;
  private static TestCertificates serverIdentity;
  private static TestCertificates clientIdentity;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final CapturedLogs logs = new CapturedLogs();

  @BeforeAll
  static void makeCertificates() throws Exception {
    serverIdentity = TestCertificates.generate(dir, "server", "RSA");
    clientIdentity = TestCertificates.generate(dir, "client", "EC");
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
    logs.close();
  }

  /** What the receiver does with a call. */
  private record Answer(Status status, ExportTraceServiceResponse response, boolean hang) {
    static final Answer OK = new Answer(Status.OK, ExportTraceServiceResponse.getDefaultInstance(), false);
    static final Answer HANG = new Answer(Status.OK, null, true);

    static Answer status(Status status) {
      return new Answer(status, null, false);
    }
  }

  /**
   * A TraceService that records each call's request and headers and answers from a script (its
   * last answer repeats).
   */
  private static final class Receiver implements AutoCloseable {
    final List<ExportTraceServiceRequest> requests = new CopyOnWriteArrayList<>();
    final List<Metadata> headers = new CopyOnWriteArrayList<>();
    final AtomicInteger calls = new AtomicInteger();
    private final Semaphore callsMade = new Semaphore(0);
    private final List<Answer> script;
    private final io.grpc.Server server;

    Receiver(ServerCredentials credentials, Answer... script) throws IOException {
      this.script = List.of(script);
      TraceServiceGrpc.TraceServiceImplBase service = new TraceServiceGrpc.TraceServiceImplBase() {
        @Override
        public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> response) {
          requests.add(request);
          Answer answer = Receiver.this.script.get(Math.min(calls.getAndIncrement(), Receiver.this.script.size() - 1));
          callsMade.release();
          if (answer.hang()) {
            return; // the server's shutdownNow cancels it
          }
          if (answer.status().isOk()) {
            response.onNext(answer.response());
            response.onCompleted();
          } else {
            response.onError(answer.status().asRuntimeException());
          }
        }
      };
      ServerInterceptor recordHeaders = new ServerInterceptor() {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(
            ServerCall<Q, R> call, Metadata metadata, ServerCallHandler<Q, R> next) {
          headers.add(metadata);
          return next.startCall(call, metadata);
        }
      };
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), credentials)
          .addService(ServerInterceptors.intercept(service, recordHeaders))
          .build()
          .start();
    }

    int port() {
      return server.getPort();
    }

    /** Waits for the n-th call (counting from the last wait). */
    boolean awaitCalls(int n) throws InterruptedException {
      return callsMade.tryAcquire(n, 5, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private Receiver receiver(Answer... script) throws IOException {
    return receiver(InsecureServerCredentials.create(), script);
  }

  private Receiver receiver(ServerCredentials credentials, Answer... script) throws IOException {
    Receiver receiver = new Receiver(credentials, script);
    toClose.add(receiver);
    return receiver;
  }

  private GrpcOtlpSender sender(String endpoint, String... keysAndValues) {
    Map<String, String> config = new HashMap<>();
    config.put("otel.exporter.otlp.traces.endpoint", endpoint);
    for (int i = 0; i < keysAndValues.length; i += 2) {
      config.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    GrpcOtlpSender sender =
        new GrpcOtlpSender(OtlpSettings.from(DefaultConfigProperties.createFromMap(config)), FAST_BACKOFF);
    toClose.add(() -> sender.shutdown().join(10, TimeUnit.SECONDS));
    return sender;
  }

  private static boolean sent(CompletableResultCode result) {
    assertThat(result.join(10, TimeUnit.SECONDS).isDone()).as("the result completed").isTrue();
    return result.isSuccess();
  }

  @Test
  void theReceiverGetsTheRequestAndTheHeaders() throws Exception {
    Receiver receiver = receiver(Answer.OK);
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port(),
        "otel.exporter.otlp.headers", "X-Api-Key=secret,Authorization=Bearer%20a+b/c=");
    ExportTraceServiceRequest request = OtlpRequests.request("enrich", 3);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();

    assertThat(receiver.requests).containsExactly(request);
    Metadata headers = receiver.headers.get(0);
    assertThat(headers.get(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("secret");
    assertThat(headers.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER)))
        .isEqualTo("Bearer a+b/c=");
    assertThat(headers.get(Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER))).isNull();
    assertThat(logs.warnings()).isEmpty();
  }

  @Test
  void gzipCompressesTheRequest() throws Exception {
    Receiver receiver = receiver(Answer.OK);
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port(), "otel.exporter.otlp.compression", "gzip");
    ExportTraceServiceRequest request = OtlpRequests.request("gz", 50);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();

    assertThat(receiver.requests).containsExactly(request);
    assertThat(receiver.headers.get(0).get(Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER)))
        .isEqualTo("gzip");
  }

  @Test
  void unavailableIsRetried() throws Exception {
    Receiver receiver = receiver(Answer.status(Status.UNAVAILABLE.withDescription("busy")), Answer.OK);
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port());
    ExportTraceServiceRequest request = OtlpRequests.request("retry", 1);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();

    assertThat(receiver.calls).hasValue(2);
    assertThat(receiver.requests).containsExactly(request, request);
    assertThat(logs.warnings()).isEmpty();
  }

  @Test
  void givesUpAfterFiveAttempts() throws Exception {
    Receiver receiver = receiver(Answer.status(Status.RESOURCE_EXHAUSTED));
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port());

    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());

    assertThat(sent(result)).isFalse();
    assertThat(receiver.calls).hasValue(5);
    assertThat(result.getFailureThrowable()).hasMessageContaining("RESOURCE_EXHAUSTED")
        .hasMessageContaining("after 5 attempts");
  }

  @Test
  void invalidArgumentFailsWithoutRetry() throws Exception {
    Receiver receiver = receiver(Answer.status(Status.INVALID_ARGUMENT.withDescription("bad span id")));
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port());
    byte[] request = OtlpRequests.request("bad", 1).toByteArray();

    CompletableResultCode result = sender.send(request);

    assertThat(sent(result)).isFalse();
    assertThat(receiver.calls).hasValue(1);
    String expected = "Could not export spans to the OTLP/gRPC endpoint http://127.0.0.1:" + receiver.port()
        + ": gRPC status INVALID_ARGUMENT (bad span id); " + request.length + " bytes of spans dropped";
    assertThat(result.getFailureThrowable()).isInstanceOf(OtlpExportException.class).hasMessage(expected);
    assertThat(logs.warnings()).containsExactly(expected);
  }

  @Test
  void partialSuccessSucceedsAndIsLogged() throws Exception {
    ExportTraceServiceResponse partial = ExportTraceServiceResponse.newBuilder()
        .setPartialSuccess(ExportTracePartialSuccess.newBuilder().setRejectedSpans(2).setErrorMessage("too old"))
        .build();
    Receiver receiver = receiver(new Answer(Status.OK, partial, false));
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port());

    assertThat(sent(sender.send(OtlpRequests.request("p", 5).toByteArray()))).isTrue();

    assertThat(receiver.calls).hasValue(1);
    assertThat(logs.warnings()).containsExactly("The OTLP/gRPC endpoint http://127.0.0.1:" + receiver.port()
        + " accepted the export but rejected 2 spans: too old");
  }

  @Test
  void nobodyListeningFailsWithinTheTimeoutWhenRetryIsDisabled() throws Exception {
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + OtlpRequests.unusedPort(),
        "otel.exporter.otlp.timeout", "2s", "otel.java.exporter.otlp.retry.disabled", "true");
    long start = System.nanoTime();

    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());

    assertThat(result.join(2, TimeUnit.SECONDS).isDone()).isTrue();
    assertThat(result.isSuccess()).isFalse();
    assertThat(System.nanoTime() - start).isLessThan(Duration.ofSeconds(2).toNanos());
    assertThat(result.getFailureThrowable()).hasMessageContaining("UNAVAILABLE")
        .hasMessageContaining("Connection refused");
  }

  @Test
  void anUnansweredCallEndsAtTheDeadline() throws Exception {
    Receiver receiver = receiver(Answer.HANG);
    GrpcOtlpSender sender = sender("http://127.0.0.1:" + receiver.port(),
        "otel.exporter.otlp.traces.timeout", "300ms", "otel.java.exporter.otlp.retry.disabled", "true");

    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());

    assertThat(sent(result)).isFalse();
    assertThat(result.getFailureThrowable()).hasMessageContaining("DEADLINE_EXCEEDED");
  }

  @Test
  void shutdownFailsAWaitingRetryAndLaterSends() throws Exception {
    Receiver receiver = receiver(Answer.status(Status.UNAVAILABLE));
    Map<String, String> config = Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + receiver.port());
    // A backoff so long that only shutdown can end the export.
    GrpcOtlpSender sender =
        new GrpcOtlpSender(OtlpSettings.from(DefaultConfigProperties.createFromMap(config)), Duration.ofHours(1));
    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());
    assertThat(receiver.awaitCalls(1)).isTrue();

    CompletableResultCode shutdown = sender.shutdown();

    assertThat(sent(result)).isFalse();
    assertThat(shutdown.join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(sender.shutdown()).isSameAs(shutdown);
    assertThat(sent(sender.send(new byte[0]))).isFalse();
    assertThat(receiver.calls).hasValue(1);
  }

  @Test
  void createChoosesGrpcForTheGrpcProtocol() {
    OtlpSender sender = OtlpSender.create(OtlpSettings.from(DefaultConfigProperties.createFromMap(Map.of())));
    assertThat(sender).isInstanceOf(GrpcOtlpSender.class);
    assertThat(sender.shutdown().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
  }

  @Test
  void tlsWithTheGivenCaCertificate() throws Exception {
    Receiver receiver = receiver(
        TlsServerCredentials.create(serverIdentity.certificate().toFile(), serverIdentity.privateKey().toFile()),
        Answer.OK);
    GrpcOtlpSender sender = sender("https://127.0.0.1:" + receiver.port(),
        "otel.exporter.otlp.certificate", serverIdentity.certificate().toString());
    ExportTraceServiceRequest request = OtlpRequests.request("tls", 2);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();
    assertThat(receiver.requests).containsExactly(request);
  }

  @Test
  void tlsFailsWithoutRetryWhenTheServerIsNotTrusted() throws Exception {
    Receiver receiver = receiver(
        TlsServerCredentials.create(serverIdentity.certificate().toFile(), serverIdentity.privateKey().toFile()),
        Answer.OK);
    // The JVM's CAs do not know the self-signed test certificate. Retry is on, but a retry would
    // fail the same way: one attempt only.
    GrpcOtlpSender sender = sender("https://127.0.0.1:" + receiver.port());

    CompletableResultCode result = sender.send(OtlpRequests.request("tls", 1).toByteArray());

    assertThat(sent(result)).isFalse();
    assertThat(receiver.calls).hasValue(0);
    assertThat(result.getFailureThrowable()).hasMessageContaining("UNAVAILABLE")
        .hasMessageContaining("PKIX path building failed")
        .hasMessageContaining("otel.exporter.otlp.certificate")
        .hasMessageNotContaining("attempts");
  }

  @Test
  void mutualTlsWithTheClientCertificateAndKey() throws Exception {
    ServerCredentials requireClient = TlsServerCredentials.newBuilder()
        .keyManager(serverIdentity.certificate().toFile(), serverIdentity.privateKey().toFile())
        .trustManager(clientIdentity.certificate().toFile())
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
    Receiver receiver = receiver(requireClient, Answer.OK);
    String endpoint = "https://localhost:" + receiver.port();
    String[] trustServer = {"otel.exporter.otlp.certificate", serverIdentity.certificate().toString(),
        "otel.java.exporter.otlp.retry.disabled", "true"};

    GrpcOtlpSender anonymous = sender(endpoint, trustServer);
    assertThat(sent(anonymous.send(OtlpRequests.request("anonymous", 1).toByteArray()))).isFalse();

    GrpcOtlpSender identified = sender(endpoint, "otel.exporter.otlp.certificate",
        serverIdentity.certificate().toString(),
        "otel.exporter.otlp.client.key", clientIdentity.privateKey().toString(),
        "otel.exporter.otlp.client.certificate", clientIdentity.certificate().toString());
    ExportTraceServiceRequest request = OtlpRequests.request("mtls", 1);
    assertThat(sent(identified.send(request.toByteArray()))).isTrue();
    assertThat(receiver.requests).containsExactly(request);
  }
}
