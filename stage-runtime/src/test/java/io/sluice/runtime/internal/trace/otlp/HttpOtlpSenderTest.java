package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.common.CompletableResultCode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OTLP/HTTP sender against a JDK HttpServer on loopback serving /v1/traces, plain and TLS. */
class HttpOtlpSenderTest {
  private static final Duration FAST_BACKOFF = Duration.ofMillis(10);

  @TempDir static Path dir;
  private static TestCertificates serverIdentity;
  private static TestCertificates clientIdentity;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final CapturedLogs logs = new CapturedLogs();

  @BeforeAll
  static void makeCertificates() throws Exception {
    serverIdentity = TestCertificates.generate(dir, "server", "RSA");
    clientIdentity = TestCertificates.generate(dir, "client", "RSA");
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
    logs.close();
  }

  /** One request as the receiver saw it: the body decompressed when it was gzip. */
  private record Received(String method, Headers headers, byte[] body) {
    ExportTraceServiceRequest request() throws IOException {
      return ExportTraceServiceRequest.parseFrom(body);
    }
  }

  /** What the receiver answers: a status and a body. */
  private record Answer(int status, byte[] body) {
    static final Answer OK = new Answer(200, ExportTraceServiceResponse.getDefaultInstance().toByteArray());
  }

  /** An OTLP/HTTP receiver at /v1/traces that records requests and answers from a script (its last answer repeats). */
  private static final class Receiver implements AutoCloseable {
    final List<Received> received = new CopyOnWriteArrayList<>();
    final AtomicInteger calls = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();

    Receiver(HttpServer server, Answer... script) throws IOException {
      this.server = server;
      List<Answer> answers = List.of(script);
      server.createContext("/v1/traces", exchange -> {
        try (exchange) {
          byte[] body = exchange.getRequestBody().readAllBytes();
          if ("gzip".equals(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
            try (InputStream gunzip = new GZIPInputStream(new ByteArrayInputStream(body))) {
              body = gunzip.readAllBytes();
            }
          }
          received.add(new Received(exchange.getRequestMethod(), exchange.getRequestHeaders(), body));
          Answer answer = answers.get(Math.min(calls.getAndIncrement(), answers.size() - 1));
          respond(exchange, answer);
        }
      });
      server.setExecutor(executor);
      server.start();
    }

    private static void respond(HttpExchange exchange, Answer answer) throws IOException {
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(answer.status(), answer.body().length == 0 ? -1 : answer.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(answer.body());
      }
    }

    int port() {
      return server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
      executor.shutdownNow();
    }
  }

  private Receiver receiver(Answer... script) throws IOException {
    Receiver receiver = new Receiver(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0), script);
    toClose.add(receiver);
    return receiver;
  }

  private Receiver tlsReceiver(boolean requireClientCertificate, Answer... script) throws Exception {
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    SSLContext context = serverIdentity.serverContext(
        requireClientCertificate ? List.of(clientIdentity) : List.of());
    server.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters parameters = context.getDefaultSSLParameters();
        parameters.setNeedClientAuth(requireClientCertificate);
        params.setSSLParameters(parameters);
      }
    });
    Receiver receiver = new Receiver(server, script);
    toClose.add(receiver);
    return receiver;
  }

  private HttpOtlpSender sender(String... keysAndValues) {
    Map<String, String> config = new HashMap<>();
    config.put("otel.exporter.otlp.protocol", "http/protobuf");
    for (int i = 0; i < keysAndValues.length; i += 2) {
      config.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    HttpOtlpSender sender =
        new HttpOtlpSender(OtlpSettings.from(DefaultConfigProperties.createFromMap(config)), FAST_BACKOFF);
    toClose.add(() -> sender.shutdown().join(10, TimeUnit.SECONDS));
    return sender;
  }

  private static boolean sent(CompletableResultCode result) {
    assertThat(result.join(10, TimeUnit.SECONDS).isDone()).as("the result completed").isTrue();
    return result.isSuccess();
  }

  @Test
  void postsTheRequestWithContentTypeAndHeadersToTheGenericEndpointPlusV1Traces() throws Exception {
    Receiver receiver = receiver(Answer.OK);
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + receiver.port() + "/",
        "otel.exporter.otlp.headers", "X-Api-Key=secret,Authorization=Bearer%20a+b/c=");
    ExportTraceServiceRequest request = OtlpRequests.request("enrich", 3);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();

    assertThat(receiver.received).hasSize(1);
    Received got = receiver.received.get(0);
    assertThat(got.method()).isEqualTo("POST");
    assertThat(got.request()).isEqualTo(request);
    assertThat(got.headers().getFirst("Content-Type")).isEqualTo("application/x-protobuf");
    assertThat(got.headers().getFirst("X-Api-Key")).isEqualTo("secret");
    assertThat(got.headers().getFirst("Authorization")).isEqualTo("Bearer a+b/c=");
    assertThat(got.headers().getFirst("Content-Encoding")).isNull();
    assertThat(logs.warnings()).isEmpty();
  }

  @Test
  void gzipCompressesTheBody() throws Exception {
    Receiver receiver = receiver(Answer.OK);
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + receiver.port(),
        "otel.exporter.otlp.traces.compression", "gzip");
    ExportTraceServiceRequest request = OtlpRequests.request("gz", 50);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();

    Received got = receiver.received.get(0);
    assertThat(got.headers().getFirst("Content-Encoding")).isEqualTo("gzip");
    assertThat(got.request()).isEqualTo(request);
  }

  @Test
  void serviceUnavailableIsRetried() throws Exception {
    Receiver receiver = receiver(new Answer(503, "busy".getBytes(StandardCharsets.UTF_8)), Answer.OK);
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + receiver.port());
    ExportTraceServiceRequest request = OtlpRequests.request("retry", 1);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();

    assertThat(receiver.calls).hasValue(2);
    assertThat(receiver.received.get(1).request()).isEqualTo(request);
    assertThat(logs.warnings()).isEmpty();
  }

  @Test
  void badRequestFailsAfterOneCallWithStatusAndBody() throws Exception {
    Receiver receiver = receiver(new Answer(400, "invalid span id\nat span 3".getBytes(StandardCharsets.UTF_8)));
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + receiver.port());
    byte[] request = OtlpRequests.request("bad", 1).toByteArray();

    CompletableResultCode result = sender.send(request);

    assertThat(sent(result)).isFalse();
    assertThat(receiver.calls).hasValue(1);
    String expected = "Could not export spans to the OTLP/HTTP endpoint http://127.0.0.1:" + receiver.port()
        + "/v1/traces: HTTP status 400, response: 'invalid span id at span 3'; " + request.length
        + " bytes of spans dropped";
    assertThat(result.getFailureThrowable()).isInstanceOf(OtlpExportException.class).hasMessage(expected);
    assertThat(logs.warnings()).containsExactly(expected);
  }

  @Test
  void wrongPathSaysWhatTheEndpointMustLookLike() throws Exception {
    Receiver receiver = receiver(Answer.OK);
    HttpOtlpSender sender = sender("otel.exporter.otlp.traces.endpoint", "http://127.0.0.1:" + receiver.port());

    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());

    assertThat(sent(result)).isFalse();
    assertThat(result.getFailureThrowable()).hasMessageContaining("HTTP status 404")
        .hasMessageContaining("must end in /v1/traces");
  }

  @Test
  void partialSuccessSucceedsAndIsLogged() throws Exception {
    byte[] partial = ExportTraceServiceResponse.newBuilder()
        .setPartialSuccess(ExportTracePartialSuccess.newBuilder().setRejectedSpans(4).setErrorMessage("no trace id"))
        .build()
        .toByteArray();
    Receiver receiver = receiver(new Answer(200, partial));
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + receiver.port());

    assertThat(sent(sender.send(OtlpRequests.request("p", 5).toByteArray()))).isTrue();

    assertThat(logs.warnings()).containsExactly("The OTLP/HTTP endpoint http://127.0.0.1:" + receiver.port()
        + "/v1/traces accepted the export but rejected 4 spans: no trace id");
  }

  @Test
  void refusedConnectionsAreRetriedThenDropped() throws Exception {
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + OtlpRequests.unusedPort());

    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());

    assertThat(sent(result)).isFalse();
    assertThat(result.getFailureThrowable()).hasMessageContaining("ConnectException")
        .hasMessageContaining("after 5 attempts");
  }

  @Test
  void createChoosesHttpForHttpProtobuf() {
    OtlpSender sender = OtlpSender.create(OtlpSettings.from(DefaultConfigProperties.createFromMap(
        Map.of("otel.exporter.otlp.protocol", "http/protobuf"))));
    assertThat(sender).isInstanceOf(HttpOtlpSender.class);
    assertThat(sender.shutdown().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
  }

  @Test
  void headersTheJdkRefusesAreAConfigurationError() {
    Assertions.assertThatThrownBy(() -> sender("otel.exporter.otlp.headers", "Host=elsewhere"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("'Host'");
  }

  @Test
  void mutualTlsWithTheGivenCaAndClientCertificate() throws Exception {
    Receiver receiver = tlsReceiver(true, Answer.OK);
    HttpOtlpSender sender = sender("otel.exporter.otlp.traces.endpoint",
        "https://127.0.0.1:" + receiver.port() + "/v1/traces",
        "otel.exporter.otlp.certificate", serverIdentity.certificate().toString(),
        "otel.exporter.otlp.client.key", clientIdentity.privateKey().toString(),
        "otel.exporter.otlp.client.certificate", clientIdentity.certificate().toString());
    ExportTraceServiceRequest request = OtlpRequests.request("mtls", 2);

    assertThat(sent(sender.send(request.toByteArray()))).isTrue();
    assertThat(receiver.received.get(0).request()).isEqualTo(request);
  }

  @Test
  void tlsFailsWithoutRetryWhenTheServerIsNotTrusted() throws Exception {
    Receiver receiver = tlsReceiver(false, Answer.OK);
    // The JVM's CAs do not know the self-signed test certificate.
    HttpOtlpSender sender = sender("otel.exporter.otlp.endpoint", "https://127.0.0.1:" + receiver.port());

    CompletableResultCode result = sender.send(OtlpRequests.request("x", 1).toByteArray());

    assertThat(sent(result)).isFalse();
    assertThat(receiver.calls).hasValue(0);
    assertThat(result.getFailureThrowable()).hasMessageContaining("SSLHandshakeException")
        .hasMessageContaining("otel.exporter.otlp.certificate")
        .hasMessageNotContaining("attempts");
  }
}
