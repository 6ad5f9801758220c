package io.sluice.bench.mesh;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.traces.ConfigurableSpanExporterProvider;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.Collection;

/**
 * {@code OTEL_TRACES_EXPORTER=discard}: a span exporter that drops every batch it is given, for
 * measuring what making spans costs a stage before any of them is encoded or sent (the SDK's span
 * creation and its batch span processor, which autoconfigure puts in front of an exporter other
 * than {@code otlp}). Only on the benchmarks' class path.
 */
public class DiscardSpanExporterProvider implements ConfigurableSpanExporterProvider {
  @Override
  public String getName() {
    return "discard";
  }

  @Override
  public SpanExporter createExporter(ConfigProperties config) {
    return new SpanExporter() {
      @Override
      public CompletableResultCode export(Collection<SpanData> spans) {
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
