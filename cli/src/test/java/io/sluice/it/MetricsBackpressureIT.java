package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.runtime.internal.metrics.PrometheusText;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true of issue 5: the Prometheus endpoints are scraped in a test. A generator offers as
 * fast as it can to a passthrough {@code relay}, which feeds a file sink throttled to 2,000
 * events/s; each stage is its own process. Every instance's {@code /metrics} is found through the
 * coordinator's status and scraped over real HTTP once a second. In every one-second interval of
 * the steady state, the relay (the stage before the throttled one, and not the source) was
 * backpressured for more than half the wall time, and the throttled sink's busy time grew (waiting
 * for its rate limit counts as busy: the stage is at its limit).
 */
@Tag("integration")
class MetricsBackpressureIT {
  static final int SINK_RATE = 2_000;
  /** Consecutive one-second scrape intervals that must all hold. */
  static final int INTERVALS = 6;
  /** Time for the pipeline to fill its windows and inboxes before the intervals are judged. */
  static final Duration WARM_UP = Duration.ofSeconds(20);
  static final String BUSY = "sluice_busy_time_milliseconds_total";
  static final String BACKPRESSURED = "sluice_backpressured_time_milliseconds_total";
  static final String IDLE = "sluice_idle_time_milliseconds_total";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** One scrape of one instance: its busy, backpressured and idle counters and when it was taken. */
  record Sample(long atNanos, double busy, double backpressured, double idle) {}

  /** The ratios of one interval between two scrapes of one instance. */
  record Interval(double wallMillis, double busy, double backpressured, double idle) {
    static Interval between(Sample a, Sample b) {
      double wall = (b.atNanos() - a.atNanos()) / 1e6;
      return new Interval(wall, (b.busy() - a.busy()) / wall, (b.backpressured() - a.backpressured()) / wall,
          (b.idle() - a.idle()) / wall);
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "busy %.2f, backpressured %.2f, idle %.2f of %.0f ms",
          busy, backpressured, idle, wallMillis);
    }
  }

  @Test
  void theStageBeforeAThrottledOneReportsBackpressureAndTheThrottledOneBusyTime(
      @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
    String yaml = """
        pipeline: metered
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: gen
            type: generator
            format: json
          - name: relay
            type: passthrough
            from: gen
          - name: out
            type: file-sink
            from: relay
            path: out/all.jsonl
            maxRate: %d
        """.formatted(SINK_RATE);
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      InstanceStatus relay = mesh.instance("relay", 0);
      InstanceStatus out = mesh.instance("out", 0);
      URI relayUrl = metricsUrl(relay);
      URI outUrl = metricsUrl(out);

      // Every stage's series carry its stage and its registered instance id, once each.
      for (String stage : List.of("gen", "relay", "out")) {
        InstanceStatus i = mesh.instance(stage, 0);
        PrometheusText text = PrometheusText.scrape(http, metricsUrl(i));
        for (String series : List.of(BUSY, BACKPRESSURED, IDLE, "sluice_records_in_total", "sluice_inbox_depth")) {
          assertThat(text.all(series, Map.of()))
              .as("%s of %s at %s", series, i.getInstanceId(), metricsUrl(i))
              .singleElement()
              .satisfies(s -> assertThat(s.labels())
                  .containsEntry("stage", stage)
                  .containsEntry("instance", i.getInstanceId()));
        }
      }

      // Scrape both once a second; judge the intervals once the relay is backpressured (the
      // windows and inboxes take a moment to fill), then INTERVALS consecutive ones.
      List<Interval> relayIntervals = new ArrayList<>();
      List<Interval> outIntervals = new ArrayList<>();
      long warmUpEnds = System.nanoTime() + WARM_UP.toNanos();
      Sample relayBefore = sample(relayUrl, relay);
      Sample outBefore = sample(outUrl, out);
      long tick = System.nanoTime();
      while (relayIntervals.size() < INTERVALS) {
        tick += 1_000_000_000L;
        Thread.sleep(Math.max(0, (tick - System.nanoTime()) / 1_000_000)); // the scrape cadence
        Sample relayNow = sample(relayUrl, relay);
        Sample outNow = sample(outUrl, out);
        Interval r = Interval.between(relayBefore, relayNow);
        Interval o = Interval.between(outBefore, outNow);
        relayBefore = relayNow;
        outBefore = outNow;
        if (relayIntervals.isEmpty() && r.backpressured() <= 0.5) {
          System.out.println("warming up: relay " + r + "; out " + o);
          assertThat(System.nanoTime()).as("the relay is backpressured within %s; logs in %s",
              WARM_UP, dir.resolve("logs")).isLessThan(warmUpEnds);
          continue;
        }
        relayIntervals.add(r);
        outIntervals.add(o);
        System.out.printf(Locale.ROOT, "second %d: relay %s; out (throttled to %,d/s) %s%n",
            relayIntervals.size(), r, SINK_RATE, o);
      }

      for (int k = 0; k < INTERVALS; k++) {
        assertThat(relayIntervals.get(k).backpressured())
            .as("relay backpressured share of second %d (%s)", k + 1, relayIntervals.get(k))
            .isGreaterThan(0.5);
        assertThat(outIntervals.get(k).busy())
            .as("throttled sink's busy time grows in second %d (%s)", k + 1, outIntervals.get(k))
            .isPositive();
      }
      double outBusy = outIntervals.stream().mapToDouble(i -> i.busy() * i.wallMillis()).sum()
          / outIntervals.stream().mapToDouble(Interval::wallMillis).sum();
      System.out.printf(Locale.ROOT, "throttled sink busy %.2f of the %d s judged%n", outBusy, INTERVALS);
    }
  }

  /** One scrape; its time is the middle of the request, the best guess of when the values were read. */
  private Sample sample(URI url, InstanceStatus i) throws Exception {
    long t0 = System.nanoTime();
    PrometheusText text = PrometheusText.scrape(http, url);
    long t1 = System.nanoTime();
    Map<String, String> labels = Map.of("instance", i.getInstanceId());
    return new Sample((t0 + t1) / 2, text.require(BUSY, labels), text.require(BACKPRESSURED, labels),
        text.require(IDLE, labels));
  }

  private static URI metricsUrl(InstanceStatus i) {
    Endpoint e = i.getMetricsEndpoint();
    assertThat(e.getPort()).as("metrics endpoint of %s", i.getInstanceId()).isPositive();
    return URI.create("http://" + e.getHost() + ":" + e.getPort() + "/metrics");
  }
}
