package io.sluice.bench.mesh;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.traces.ConfigurableSpanExporterProvider;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.sluice.runtime.internal.trace.otlp.OtlpSpanEncoder;
import java.util.Collection;

/**
 * {@code OTEL_TRACES_EXPORTER=discard}: a span exporter that drops every batch it is given, for
 * measuring what spans cost a stage before any of them is encoded or sent (the SDK's span
 * creation and batch processor alone). {@link Encoded} ({@code discard-encoded}) encodes each
 * batch as the stages' OTLP exporter does and then drops it, which leaves out only the sending.
 * Only on the benchmarks' class path.
 */
public class DiscardSpanExporterProvider implements ConfigurableSpanExporterProvider {
  @Override
  public String getName() {
    return "discard";
  }

  /** {@code discard-encoded}: encode, then drop. */
  public static final class Encoded extends DiscardSpanExporterProvider {
    @Override
    public String getName() {
      return "discard-encoded";
    }

    @Override
    boolean encodes() {
      return true;
    }
  }

  boolean encodes() {
    return false;
  }

  @Override
  public SpanExporter createExporter(ConfigProperties config) {
    OtlpSpanEncoder encoder = encodes() ? new OtlpSpanEncoder() : null;
    return new SpanExporter() {
      @Override
      public CompletableResultCode export(Collection<SpanData> spans) {
        if (encoder != null) {
          synchronized (encoder) {
            encoder.encode(spans);
          }
        }
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode flush() {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
      }
    };
  }
}
