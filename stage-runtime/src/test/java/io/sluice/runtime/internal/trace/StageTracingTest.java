package io.sluice.runtime.internal.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which settings turn export on (the OTEL_* environment of the test run is assumed empty). */
class StageTracingTest {
  @Test
  void offUnlessAnEndpointOrExporterIsSet() {
    assertThat(StageTracing.configure("s", "s-0", Map::of).enabled()).isFalse();
    try (StageTracing t = StageTracing.configure("s", "s-0",
        () -> Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:1"))) {
      assertThat(t.enabled()).isTrue();
    }
    try (StageTracing t = StageTracing.configure("s", "s-0",
        () -> Map.of("otel.exporter.otlp.traces.endpoint", "http://127.0.0.1:1/v1/traces",
            "otel.exporter.otlp.traces.protocol", "http/protobuf"))) {
      assertThat(t.enabled()).isTrue();
    }
    assertThat(StageTracing.configure("s", "s-0",
        () -> Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:1", "otel.traces.exporter", "none")).enabled())
        .isFalse();
    assertThat(StageTracing.configure("s", "s-0",
        () -> Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:1", "otel.sdk.disabled", "true")).enabled())
        .isFalse();
  }
}
