package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The stages' OTLP span exporter: encodes each batch the SDK's batch span processor hands it with
 * {@link OtlpSpanEncoder} and sends it with an {@link OtlpSender} (OTLP/gRPC or
 * OTLP/http-protobuf, as the standard {@code OTEL_EXPORTER_OTLP_*} settings say; see {@link
 * OtlpSettings}). It takes the place of the SDK's OTLP exporter, whose per-span encoding cost
 * was most of what tracing cost a stage (docs/tracing.md, "Cost").
 *
 * <p>Threading: thread-safe. The batch processor calls {@link #export} from its worker thread,
 * one batch at a time; sends complete on the sender's threads.
 */
public final class OtlpSpanExporter implements SpanExporter {
  private final OtlpSender sender;
  private final OtlpSpanEncoder encoder = new OtlpSpanEncoder();
  private final AtomicBoolean shutdown = new AtomicBoolean();
  private final Set<CompletableResultCode> inFlight = ConcurrentHashMap.newKeySet();

  public OtlpSpanExporter(OtlpSender sender) {
    this.sender = sender;
  }

  @Override
  public CompletableResultCode export(Collection<SpanData> spans) {
    if (shutdown.get()) {
      return CompletableResultCode.ofFailure();
    }
    if (spans.isEmpty()) {
      return CompletableResultCode.ofSuccess();
    }
    byte[] request;
    synchronized (encoder) {
      request = encoder.encode(spans);
    }
    CompletableResultCode sent = sender.send(request);
    inFlight.add(sent);
    sent.whenComplete(() -> inFlight.remove(sent));
    return sent;
  }

  /** Completes when every request sent so far has been answered (or has failed). */
  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofAll(new ArrayList<>(inFlight));
  }

  @Override
  public CompletableResultCode shutdown() {
    if (!shutdown.compareAndSet(false, true)) {
      return CompletableResultCode.ofSuccess();
    }
    CompletableResultCode done = new CompletableResultCode();
    flush().whenComplete(() -> sender.shutdown().whenComplete(done::succeed));
    return done;
  }

  @Override
  public String toString() {
    return "OtlpSpanExporter{" + sender + "}";
  }
}
