package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;

/**
 * Delivers encoded {@code ExportTraceServiceRequest}s to an OTLP collector, retrying transient
 * failures (see {@link OtlpRetrier}). The encoding is the caller's; a sender only moves bytes.
 *
 * <p>Threading: thread-safe; {@link #send} never blocks (the request goes out asynchronously) and
 * may be called concurrently. The results complete on transport or retry threads: callbacks on them
 * must not block.
 */
public interface OtlpSender {
  /**
   * Sends one request. The result succeeds once the collector accepted it (a partial success, which
   * is logged, counts as success) and fails when it was refused, or every attempt failed, or the
   * sender was shut down first; a failure is logged as a WARNING saying the spans were dropped, and
   * its {@link CompletableResultCode#getFailureThrowable()} is an {@link OtlpExportException}.
   *
   * @param request an encoded ExportTraceServiceRequest; the sender owns it from now on, and the
   *     caller must not change it
   */
  CompletableResultCode send(byte[] request);

  /**
   * Refuses further sends, cancels waiting retries (their results fail) and releases the connection
   * and threads. Requests already on the wire may finish. Calling it again does nothing more.
   *
   * @return completes when the connection is closed
   */
  CompletableResultCode shutdown();

  /**
   * The sender for {@link OtlpSettings#protocol()}.
   *
   * @throws ConfigurationException naming the file when a TLS certificate or key cannot be used, or
   *     the header when a header cannot be sent
   */
  static OtlpSender create(OtlpSettings settings) {
    return switch (settings.protocol()) {
      case GRPC -> new GrpcOtlpSender(settings);
      case HTTP_PROTOBUF -> new HttpOtlpSender(settings);
    };
  }
}
