package io.sluice.runtime.internal.trace;

import java.util.Locale;

/** Reads an OpenTelemetry setting the way the SDK's autoconfiguration does. Stateless. */
final class OtelSettings {
  private OtelSettings() {}

  /**
   * The setting named by its property name ({@code otel.traces.sampler}): the system property, else
   * the environment variable ({@code OTEL_TRACES_SAMPLER}), else null.
   */
  static String lookup(String property) {
    String value = System.getProperty(property);
    if (value == null) {
      value = System.getenv(property.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
    }
    return value == null || value.isBlank() ? null : value;
  }
}
