package io.sluice.runtime.internal.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.URI;
import java.net.http.HttpClient;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Scrapes the Prometheus endpoint over HTTP: the subtask's counters and the checkpoint figures
 * appear, labelled with the stage and the registered instance id.
 */
class MetricsEndpointTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Map<String, String> COUNT_1 = Map.of("stage", "count", "instance", "count-1");

  @Test
  void servesTheInstancesCountersForPrometheus() throws Exception {
    TaskMetrics metrics = new TaskMetrics();
    AtomicLong watermark = new AtomicLong(Long.MIN_VALUE);
    try (MetricsEndpoint endpoint = MetricsEndpoint.start("127.0.0.1", 0, "count", metrics, watermark::get)) {
      endpoint.identify("count-1");
      metrics.received(5);
      metrics.sent(3, 300);
      metrics.backpressured(2_500_000_000L);
      metrics.inboxDepth(7);
      watermark.set(1_767_225_600_000L);

      PrometheusText text = scrape(endpoint);
      assertThat(text.require("sluice_records_in_total", COUNT_1)).isEqualTo(5.0);
      assertThat(text.require("sluice_records_out_total", COUNT_1)).isEqualTo(3.0);
      assertThat(text.require("sluice_sent_bytes_total", COUNT_1)).isEqualTo(300.0);
      assertThat(text.require("sluice_backpressured_time_milliseconds_total", COUNT_1)).isEqualTo(2500.0);
      assertThat(text.require("sluice_busy_time_milliseconds_total", COUNT_1)).isZero();
      assertThat(text.require("sluice_inbox_depth", COUNT_1)).isEqualTo(7.0);
      assertThat(text.require("sluice_watermark_milliseconds", COUNT_1)).isEqualTo(1_767_225_600_000.0);
      assertThat(text.value("sluice_last_checkpoint_id", Map.of())).as("no checkpoint yet").isEmpty();

      metrics.received(10);
      assertThat(scrape(endpoint).require("sluice_records_in_total", COUNT_1)).isEqualTo(15.0);
    }
  }

  @Test
  void servesNoSeriesUntilTheRegistrationNamesTheInstance() throws Exception {
    TaskMetrics metrics = new TaskMetrics();
    metrics.received(4);
    try (MetricsEndpoint endpoint =
        MetricsEndpoint.start("127.0.0.1", 0, "count", metrics, () -> 1_767_225_600_000L)) {
      assertThat(scrape(endpoint).samples()).noneMatch(s -> s.name().startsWith("sluice_"));

      endpoint.identify("count-1");
      assertThat(scrape(endpoint).require("sluice_records_in_total", COUNT_1)).isEqualTo(4.0);
      // Registered again after a coordinator restart: same id, the counters carry on.
      endpoint.identify("count-1");
      metrics.received(1);
      PrometheusText text = scrape(endpoint);
      assertThat(text.all("sluice_records_in_total", Map.of())).hasSize(1);
      assertThat(text.require("sluice_records_in_total", COUNT_1)).isEqualTo(5.0);
    }
  }

  @Test
  void servesCheckpointFiguresAsHistogramsCountsAndTheLastCheckpoint() throws Exception {
    try (MetricsEndpoint endpoint =
        MetricsEndpoint.start("127.0.0.1", 0, "count", new TaskMetrics(), () -> Long.MIN_VALUE)) {
      endpoint.identify("count-1");
      CheckpointFigures figures = endpoint.checkpoints();
      figures.acked(1, 40_000_000L, 3_000_000L, 45_000_000L, 2_000);
      figures.acked(2, 700_000_000L, 7_500_000L, 720_000_000L, 5_000);
      figures.declined(3);

      PrometheusText text = scrape(endpoint);
      String alignment = "sluice_checkpoint_alignment_time_milliseconds";
      assertThat(text.require(alignment + "_count", COUNT_1)).isEqualTo(2.0);
      assertThat(text.require(alignment + "_sum", COUNT_1)).isCloseTo(740.0, within(1e-6));
      assertThat(bucket(text, alignment, "25.0")).isZero();
      assertThat(bucket(text, alignment, "50.0")).isEqualTo(1.0);
      assertThat(bucket(text, alignment, "500.0")).isEqualTo(1.0);
      assertThat(bucket(text, alignment, "1000.0")).isEqualTo(2.0);
      assertThat(bucket(text, alignment, "+Inf")).isEqualTo(2.0);

      assertThat(text.require("sluice_checkpoint_snapshot_time_milliseconds_sum", COUNT_1))
          .isCloseTo(10.5, within(1e-6));
      assertThat(text.require("sluice_checkpoint_duration_milliseconds_sum", COUNT_1))
          .isCloseTo(765.0, within(1e-6));
      assertThat(bucket(text, "sluice_checkpoint_duration_milliseconds", "50.0")).isEqualTo(1.0);
      assertThat(text.require("sluice_checkpoint_size_bytes_sum", COUNT_1)).isEqualTo(7_000.0);
      assertThat(bucket(text, "sluice_checkpoint_size_bytes", "4096.0")).isEqualTo(1.0);
      assertThat(bucket(text, "sluice_checkpoint_size_bytes", "16384.0")).isEqualTo(2.0);

      assertThat(text.require("sluice_checkpoints_total", with(COUNT_1, "result", "acked"))).isEqualTo(2.0);
      assertThat(text.require("sluice_checkpoints_total", with(COUNT_1, "result", "declined"))).isEqualTo(1.0);
      assertThat(text.require("sluice_last_checkpoint_id", COUNT_1)).isEqualTo(2.0);
      assertThat(text.require("sluice_last_checkpoint_size_bytes", COUNT_1)).isEqualTo(5_000.0);

      // An ack that arrives late for an older checkpoint does not move the last one back.
      figures.acked(1, 0, 0, 0, 9_999);
      assertThat(scrape(endpoint).require("sluice_last_checkpoint_id", COUNT_1)).isEqualTo(2.0);
    }
  }

  private static double bucket(PrometheusText text, String histogram, String le) {
    return text.require(histogram + "_bucket", with(COUNT_1, "le", le));
  }

  private static Map<String, String> with(Map<String, String> labels, String key, String value) {
    java.util.Map<String, String> m = new java.util.HashMap<>(labels);
    m.put(key, value);
    return m;
  }

  private static PrometheusText scrape(MetricsEndpoint endpoint) throws Exception {
    return PrometheusText.scrape(HTTP, URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics"));
  }
}
