package io.sluice.runtime.internal.trace.otlp;

import com.google.protobuf.InvalidProtocolBufferException;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.sluice.runtime.internal.trace.otlp.OtlpRetrier.Outcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.zip.GZIPOutputStream;

/**
 * OTLP/HTTP with binary protobuf: each request is a {@code POST} of the encoded request to the
 * endpoint URL with {@code Content-Type: application/x-protobuf}, through the JDK's {@link
 * HttpClient}. Each attempt has a limit of {@link OtlpSettings#timeout()} (connection included).
 *
 * <p>Retried, as the OTLP spec and the SDK's exporter do: statuses 429, 502, 503 and 504, and I/O
 * failures (refused or reset connections, timeouts), except TLS failures, which a retry would
 * repeat.
 *
 * <p>Threading: thread-safe; see {@link OtlpSender}.
 */
final class HttpOtlpSender implements OtlpSender {
  private static final Logger LOG = Logger.getLogger(HttpOtlpSender.class.getName());
  private static final Set<Integer> RETRYABLE_STATUSES = Set.of(429, 502, 503, 504);
  private static final int BODY_EXCERPT = 256;

  private final OtlpSettings settings;
  private final String destination;
  private final HttpClient client;
  private final HttpRequest.Builder template;
  private final OtlpRetrier retrier;

  HttpOtlpSender(OtlpSettings settings) {
    this(settings, OtlpRetrier.DEFAULT_INITIAL_BACKOFF);
  }

  /** As the public constructor, with the first retry's backoff bound shortened (tests). */
  HttpOtlpSender(OtlpSettings settings, Duration initialBackoff) {
    this.settings = settings;
    this.destination = settings.describeEndpoint();
    HttpClient.Builder client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER);
    if (settings.isTls()) {
      client.sslContext(OtlpTls.sslContext(settings));
    } else {
      // Over plain http the JDK would offer an h2c upgrade on the first request, which some
      // collectors' servers mishandle; OTLP/HTTP needs nothing beyond HTTP/1.1 there.
      client.version(HttpClient.Version.HTTP_1_1);
    }
    if (!settings.timeout().isZero()) {
      client.connectTimeout(settings.timeout());
    }
    this.client = client.build();
    this.template = template(settings);
    this.retrier = new OtlpRetrier(destination, settings.retryEnabled(), initialBackoff);
  }

  @Override
  public CompletableResultCode send(byte[] request) {
    byte[] body = settings.compression() == OtlpSettings.Compression.GZIP ? gzip(request) : request;
    // HttpRequest is immutable: build it once and send it on every attempt.
    HttpRequest post = template.copy().POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    return retrier.run(() -> attempt(post), request.length);
  }

  /**
   * Refuses further sends and cancels waiting retries. The JDK 17 {@link HttpClient} has no close:
   * requests on the wire end by their timeout, and its daemon threads end when it is collected.
   */
  @Override
  public CompletableResultCode shutdown() {
    retrier.shutdown();
    return CompletableResultCode.ofSuccess();
  }

  private CompletableFuture<Outcome> attempt(HttpRequest post) {
    return client.sendAsync(post, HttpResponse.BodyHandlers.ofByteArray())
        .handle((response, failure) -> failure == null ? outcomeOf(response) : outcomeOf(failure));
  }

  private Outcome outcomeOf(HttpResponse<byte[]> response) {
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      try {
        OtlpPartialSuccess.parse(response.body()).logIfAny(LOG, destination);
      } catch (InvalidProtocolBufferException e) {
        LOG.log(Level.WARNING, "The " + destination + " accepted the export but its response could not be"
            + " decoded as an ExportTraceServiceResponse; ignored", e);
      }
      return Outcome.SUCCESS;
    }
    String reason = "HTTP status " + status + hint(status) + ", response: " + excerpt(response.body());
    return RETRYABLE_STATUSES.contains(status) ? Outcome.retryable(reason, null) : Outcome.failed(reason, null);
  }

  private static Outcome outcomeOf(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    String reason = "the request failed: " + OtlpRetrier.describe(cause);
    if (OtlpRetrier.isTlsFailure(cause)) {
      return Outcome.failed(reason + OtlpRetrier.TLS_HINT, cause);
    }
    // Refused or reset connections and timeouts: transient, as the spec has it.
    return cause instanceof IOException ? Outcome.retryable(reason, cause) : Outcome.failed(reason, cause);
  }

  private String hint(int status) {
    return switch (status) {
      case 404 -> " (no OTLP traces receiver at path '" + settings.endpoint().getRawPath() + "'; a traces-specific"
          + " endpoint is used as is, so it must end in /v1/traces)";
      case 401, 403 -> " (check the credentials in otel.exporter.otlp.headers)";
      case 415 -> " (the endpoint does not take application/x-protobuf)";
      default -> "";
    };
  }

  /** The start of a response body, as text on one line, for a log message. */
  static String excerpt(byte[] body) {
    if (body.length == 0) {
      return "(empty)";
    }
    String text = new String(body, 0, Math.min(body.length, BODY_EXCERPT), StandardCharsets.UTF_8)
        .replaceAll("\\p{Cntrl}+", " ")
        .strip();
    return "'" + text + (body.length > BODY_EXCERPT ? "...'" : "'");
  }

  private static HttpRequest.Builder template(OtlpSettings settings) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(settings.endpoint())
        .header("Content-Type", "application/x-protobuf");
    if (!settings.timeout().isZero()) {
      builder.timeout(settings.timeout());
    }
    if (settings.compression() == OtlpSettings.Compression.GZIP) {
      builder.header("Content-Encoding", "gzip");
    }
    for (Map.Entry<String, String> header : settings.headers().entrySet()) {
      try {
        builder.header(header.getKey(), header.getValue());
      } catch (IllegalArgumentException e) {
        // The JDK refuses invalid names and values and the headers it sets itself (Host, Connection...).
        throw new ConfigurationException("The OTLP header '" + header.getKey() + "' cannot be sent over HTTP: "
            + e.getMessage(), e);
      }
    }
    return builder;
  }

  private static byte[] gzip(byte[] request) {
    ByteArrayOutputStream compressed = new ByteArrayOutputStream(request.length / 4 + 64);
    try (GZIPOutputStream out = new GZIPOutputStream(compressed)) {
      out.write(request);
    } catch (IOException e) {
      throw new UncheckedIOException("gzip into memory failed", e); // cannot happen: no I/O
    }
    return compressed.toByteArray();
  }

  /** The collector this sends to, as log lines name it ("OTLP/HTTP endpoint http://..."). */
  @Override
  public String toString() {
    return destination;
  }
}
