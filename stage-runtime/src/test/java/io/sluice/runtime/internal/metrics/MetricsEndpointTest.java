package io.sluice.runtime.internal.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Scrapes the Prometheus endpoint over HTTP: the subtask's counters appear, labelled. */
class MetricsEndpointTest {
  @Test
  void servesTheInstancesCountersForPrometheus() throws Exception {
    TaskMetrics metrics = new TaskMetrics();
    AtomicLong watermark = new AtomicLong(Long.MIN_VALUE);
    try (MetricsEndpoint endpoint =
        MetricsEndpoint.start("127.0.0.1", 0, "count", "count-1", metrics, watermark::get)) {
      metrics.received(5);
      metrics.sent(3, 300);
      metrics.backpressured(2_500_000_000L);
      metrics.inboxDepth(7);
      watermark.set(1_767_225_600_000L);

      String text = scrape(endpoint.port());
      assertThat(text)
          .containsPattern("sluice_records_in_total\\{[^}]*instance=\"count-1\"[^}]*stage=\"count\"[^}]*\\} 5\\.0")
          .containsPattern("sluice_records_out_total\\{[^}]*\\} 3\\.0")
          .containsPattern("sluice_sent_bytes_total\\{[^}]*\\} 300\\.0")
          .containsPattern("sluice_backpressured_time_milliseconds_total\\{[^}]*\\} 2500\\.0")
          .containsPattern("sluice_inbox_depth\\{[^}]*\\} 7\\.0")
          .containsPattern("sluice_watermark_milliseconds\\{[^}]*\\} (1\\.7672256E12|1767225600000(\\.0)?)\\n");

      metrics.received(10);
      assertThat(scrape(endpoint.port())).containsPattern("sluice_records_in_total\\{[^}]*\\} 15\\.0");
    }
  }

  private static String scrape(int port) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }
}
