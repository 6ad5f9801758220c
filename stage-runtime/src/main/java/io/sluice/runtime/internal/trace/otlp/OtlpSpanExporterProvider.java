package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.traces.ConfigurableSpanExporterProvider;
import io.opentelemetry.sdk.trace.export.SpanExporter;

/**
 * Makes {@link OtlpSpanExporter} autoconfigure's {@code otlp} traces exporter ({@code
 * OTEL_TRACES_EXPORTER=otlp}, the default once an OTLP endpoint is set), configured from the
 * standard {@code OTEL_EXPORTER_OTLP_*} settings. Found through {@code META-INF/services}.
 *
 * <p>Threading: stateless.
 */
public final class OtlpSpanExporterProvider implements ConfigurableSpanExporterProvider {
  @Override
  public String getName() {
    return "otlp";
  }

  @Override
  public SpanExporter createExporter(ConfigProperties config) {
    return new OtlpSpanExporter(OtlpSender.create(OtlpSettings.from(config)));
  }
}
