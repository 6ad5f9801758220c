package io.sluice.runtime.internal.metrics;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.exporter.prometheus.PrometheusHttpServer;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import java.util.function.LongSupplier;

/**
 * A stage instance's metrics, kept with the OpenTelemetry SDK and served for Prometheus at {@code
 * http://HOST:PORT/metrics}. The instruments observe the counters the subtask already keeps
 * ({@link TaskMetrics}) when scraped, so the hot path pays nothing for them.
 *
 * <p>Every series carries {@code stage} and {@code instance}. Names (as Prometheus shows them):
 * {@code sluice_records_in_total}, {@code sluice_records_out_total}, {@code
 * sluice_received_bytes_total}, {@code sluice_sent_bytes_total}, {@code sluice_dead_letters_total},
 * {@code sluice_busy_time_milliseconds_total}, {@code
 * sluice_backpressured_time_milliseconds_total}, {@code sluice_idle_time_milliseconds_total} (their
 * rates are milliseconds per second), {@code sluice_inbox_depth}, {@code
 * sluice_watermark_milliseconds} and {@code sluice_watermark_lag_milliseconds}.
 *
 * <p>Thread-safe; the exporter's HTTP server runs on its own threads.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private static final AttributeKey<String> STAGE = AttributeKey.stringKey("stage");
  private static final AttributeKey<String> INSTANCE = AttributeKey.stringKey("instance");

  private final int port;
  private final SdkMeterProvider provider;

  private MetricsEndpoint(int port, SdkMeterProvider provider) {
    this.port = port;
    this.provider = provider;
  }

  /**
   * Starts serving.
   *
   * @param host the address to listen on
   * @param port the port; 0 picks a free one
   * @param watermark the instance's current watermark, epoch millis ({@link Long#MIN_VALUE} before
   *     the first)
   */
  public static MetricsEndpoint start(
      String host, int port, String stage, String instance, TaskMetrics metrics, LongSupplier watermark)
      throws java.io.IOException {
    if (port == 0) {
      // The exporter does not tell which port it bound; pick a free one first.
      try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
        port = probe.getLocalPort();
      }
    }
    PrometheusHttpServer server = PrometheusHttpServer.builder().setHost(host).setPort(port).build();
    SdkMeterProvider provider = SdkMeterProvider.builder().registerMetricReader(server).build();
    Meter meter = provider.get("io.sluice.runtime");
    Attributes attrs = Attributes.of(STAGE, stage, INSTANCE, instance);
    meter.counterBuilder("sluice.records.in").setUnit("{record}").setDescription("Records taken in")
        .buildWithCallback(m -> m.record(metrics.recordsIn(), attrs));
    meter.counterBuilder("sluice.records.out").setUnit("{record}").setDescription("Records sent on")
        .buildWithCallback(m -> m.record(metrics.recordsOut(), attrs));
    meter.counterBuilder("sluice.received").setUnit("By").setDescription("Bytes read from the transport")
        .buildWithCallback(m -> m.record(metrics.bytesIn(), attrs));
    meter.counterBuilder("sluice.sent").setUnit("By").setDescription("Bytes written to the transport")
        .buildWithCallback(m -> m.record(metrics.bytesOut(), attrs));
    meter.counterBuilder("sluice.dead_letters").setUnit("{record}").setDescription("Records dead-lettered")
        .buildWithCallback(m -> m.record(metrics.deadLetters(), attrs));
    meter.counterBuilder("sluice.busy.time").setUnit("ms").setDescription("Time spent processing")
        .buildWithCallback(m -> m.record(metrics.busyMillis(), attrs));
    meter.counterBuilder("sluice.backpressured.time").setUnit("ms")
        .setDescription("Time waiting for a downstream channel with input queued")
        .buildWithCallback(m -> m.record(metrics.backpressuredMillis(), attrs));
    meter.counterBuilder("sluice.idle.time").setUnit("ms").setDescription("Time waiting for input")
        .buildWithCallback(m -> m.record(metrics.idleMillis(), attrs));
    meter.gaugeBuilder("sluice.inbox.depth").ofLongs().setUnit("{frame}").setDescription("Frames queued")
        .buildWithCallback(m -> m.record(metrics.inboxDepth(), attrs));
    meter.gaugeBuilder("sluice.watermark").ofLongs().setUnit("ms").setDescription("Event-time watermark")
        .buildWithCallback(m -> {
          long w = watermark.getAsLong();
          if (w != Long.MIN_VALUE && w != Long.MAX_VALUE) {
            m.record(w, attrs);
          }
        });
    meter.gaugeBuilder("sluice.watermark.lag").ofLongs().setUnit("ms")
        .setDescription("Wall clock minus the watermark")
        .buildWithCallback(m -> {
          long w = watermark.getAsLong();
          if (w != Long.MIN_VALUE && w != Long.MAX_VALUE) {
            m.record(System.currentTimeMillis() - w, attrs);
          }
        });
    return new MetricsEndpoint(port, provider);
  }

  /** The port the endpoint listens on. */
  public int port() {
    return port;
  }

  @Override
  public void close() {
    provider.close();
  }
}
