package io.sluice.runtime.internal.trace.otlp;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.Drainable;
import io.grpc.InsecureChannelCredentials;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.NettyChannelBuilder;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.sluice.runtime.internal.trace.otlp.OtlpRetrier.Outcome;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * OTLP/gRPC: each request is one unary {@code TraceService/Export} call on a grpc-java Netty
 * channel, plaintext for {@code http} endpoints and TLS for {@code https}. The request travels as
 * the caller's bytes (no generated classes); the response's partial success is decoded by {@link
 * OtlpPartialSuccess}. Each attempt has its own deadline of {@link OtlpSettings#timeout()}.
 *
 * <p>Retried status codes are those of the OTLP spec and the SDK's exporter: CANCELLED,
 * DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS.
 *
 * <p>Threading: thread-safe; see {@link OtlpSender}.
 */
final class GrpcOtlpSender implements OtlpSender {
  static final String SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService";

  private static final Logger LOG = Logger.getLogger(GrpcOtlpSender.class.getName());
  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new BytesMarshaller();
  private static final MethodDescriptor<byte[], byte[]> EXPORT = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Export"))
      .setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES)
      .build();
  private static final Set<Status.Code> RETRYABLE = EnumSet.of(
      Status.Code.CANCELLED,
      Status.Code.DEADLINE_EXCEEDED,
      Status.Code.RESOURCE_EXHAUSTED,
      Status.Code.ABORTED,
      Status.Code.OUT_OF_RANGE,
      Status.Code.UNAVAILABLE,
      Status.Code.DATA_LOSS);

  private final OtlpSettings settings;
  private final String destination;
  private final Metadata headers;
  private final ManagedChannel channel;
  private final OtlpRetrier retrier;
  // Guarded by this.
  private CompletableResultCode shutdownResult;

  GrpcOtlpSender(OtlpSettings settings) {
    this(settings, OtlpRetrier.DEFAULT_INITIAL_BACKOFF);
  }

  /** As the public constructor, with the first retry's backoff bound shortened (tests). */
  GrpcOtlpSender(OtlpSettings settings, Duration initialBackoff) {
    this.settings = settings;
    this.destination = settings.describeEndpoint();
    this.headers = metadata(settings.headers());
    this.channel = NettyChannelBuilder.forAddress(settings.endpoint().getHost(), settings.port(), credentials(settings))
        // The call's callbacks only decode a few bytes and complete a result: run them on the
        // transport's thread rather than hand each to an executor thread and wake it.
        .directExecutor()
        .build();
    this.retrier = new OtlpRetrier(destination, settings.retryEnabled(), initialBackoff);
  }

  @Override
  public CompletableResultCode send(byte[] request) {
    return retrier.run(() -> attempt(request), request.length);
  }

  @Override
  public synchronized CompletableResultCode shutdown() {
    if (shutdownResult != null) {
      return shutdownResult;
    }
    shutdownResult = new CompletableResultCode();
    retrier.shutdown();
    channel.shutdown();
    // Calls under way end by their deadline at the latest; waiting for that is blocking, so wait
    // off the caller's thread, then cut whatever is left.
    long waitNanos = (settings.timeout().isZero() ? OtlpSettings.DEFAULT_TIMEOUT : settings.timeout()).toNanos();
    CompletableResultCode result = shutdownResult;
    Thread waiter = new Thread(() -> {
      try {
        if (!channel.awaitTermination(waitNanos, TimeUnit.NANOSECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        channel.shutdownNow();
        Thread.currentThread().interrupt();
      }
      result.succeed();
    }, "sluice-otlp-grpc-shutdown");
    waiter.setDaemon(true);
    waiter.start();
    return result;
  }

  private CompletableFuture<Outcome> attempt(byte[] request) {
    // After a connection failure the channel fails calls fast until its own reconnect backoff
    // ends; our retry has already waited, so let it try to connect now.
    if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
      channel.resetConnectBackoff();
    }
    CallOptions options = CallOptions.DEFAULT;
    if (settings.compression() == OtlpSettings.Compression.GZIP) {
      options = options.withCompression("gzip");
    }
    if (!settings.timeout().isZero()) {
      options = options.withDeadlineAfter(settings.timeout().toNanos(), TimeUnit.NANOSECONDS);
    }
    CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(EXPORT, options);
    Metadata callHeaders = new Metadata();
    callHeaders.merge(headers); // the call may change the headers it is given
    call.start(new ClientCall.Listener<>() {
      // Callbacks of a call are serialized: no lock needed.
      private byte[] response;

      @Override
      public void onMessage(byte[] message) {
        response = message;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        outcome.complete(outcomeOf(status, response));
      }
    }, callHeaders);
    try {
      call.request(1);
      call.sendMessage(request);
      call.halfClose();
    } catch (RuntimeException e) {
      call.cancel("sending the request failed", e); // onClose completes the outcome
    }
    return outcome;
  }

  private Outcome outcomeOf(Status status, byte[] response) {
    if (status.isOk()) {
      if (response != null) {
        try {
          OtlpPartialSuccess.parse(response).logIfAny(LOG, destination);
        } catch (InvalidProtocolBufferException e) {
          LOG.log(Level.WARNING, "The " + destination + " accepted the export but its response could not be"
              + " decoded as an ExportTraceServiceResponse; ignored", e);
        }
      }
      return Outcome.SUCCESS;
    }
    String reason = "gRPC status " + status.getCode()
        + (status.getDescription() == null ? "" : " (" + status.getDescription().replaceAll("\\s*\\R\\s*", " ") + ")")
        + (status.getCause() == null ? "" : ": " + OtlpRetrier.describe(status.getCause()));
    if (status.getCause() != null && OtlpRetrier.isTlsFailure(status.getCause())) {
      // gRPC reports a failed handshake as UNAVAILABLE, but a retry would fail the same way.
      return Outcome.failed(reason + OtlpRetrier.TLS_HINT, status.asRuntimeException());
    }
    reason += hint(status.getCode());
    return RETRYABLE.contains(status.getCode())
        ? Outcome.retryable(reason, status.asRuntimeException())
        : Outcome.failed(reason, status.asRuntimeException());
  }

  private static String hint(Status.Code code) {
    return switch (code) {
      case UNIMPLEMENTED -> "; the endpoint does not serve OTLP traces over gRPC: if it is an OTLP/HTTP port"
          + " (4318), set otel.exporter.otlp.protocol=http/protobuf";
      case UNAUTHENTICATED, PERMISSION_DENIED -> "; check the credentials in otel.exporter.otlp.headers";
      default -> "";
    };
  }

  private static ChannelCredentials credentials(OtlpSettings settings) {
    if (!settings.isTls()) {
      return InsecureChannelCredentials.create();
    }
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    TrustManager[] trust = OtlpTls.trustManagers(settings);
    if (trust != null) {
      tls.trustManager(trust);
    }
    KeyManager[] keys = OtlpTls.keyManagers(settings);
    if (keys != null) {
      tls.keyManager(keys);
    }
    return tls.build();
  }

  /** The headers as gRPC metadata: names lower-cased, values printable ASCII as gRPC requires. */
  private static Metadata metadata(Map<String, String> headers) {
    Metadata metadata = new Metadata();
    for (Map.Entry<String, String> header : headers.entrySet()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      String value = header.getValue();
      if (!value.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
        throw new ConfigurationException("The OTLP header '" + header.getKey() + "' has a value that is not printable"
            + " ASCII, which gRPC metadata cannot carry");
      }
      Metadata.Key<String> key;
      try {
        key = Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
      } catch (IllegalArgumentException e) {
        throw new ConfigurationException("The OTLP header '" + header.getKey() + "' cannot be sent as gRPC metadata: "
            + e.getMessage(), e);
      }
      metadata.put(key, value);
    }
    return metadata;
  }

  /** Requests and responses as they are on the wire: no copy into and out of generated classes. */
  private static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new BytesStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("could not read the response").withCause(e).asRuntimeException();
      }
    }
  }

  /**
   * The request's bytes, with their length known up front and written to the transport in one go
   * (without these two interfaces gRPC copies the stream into buffers of its own first).
   */
  private static final class BytesStream extends ByteArrayInputStream implements KnownLength, Drainable {
    BytesStream(byte[] bytes) {
      super(bytes);
    }

    @Override
    public synchronized int drainTo(OutputStream target) throws IOException {
      int length = count - pos;
      target.write(buf, pos, length);
      pos = count;
      return length;
    }
  }

  /** The collector this sends to, as log lines name it ("OTLP/gRPC endpoint http://..."). */
  @Override
  public String toString() {
    return destination;
  }
}
