package io.sluice.runtime.internal.metrics;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongMeasurement;
import io.opentelemetry.exporter.prometheus.PrometheusHttpServer;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * A stage instance's metrics, kept with the OpenTelemetry SDK and served for Prometheus at {@code
 * http://HOST:PORT/metrics}. The instruments observe the counters the subtask already keeps
 * ({@link TaskMetrics}) when scraped, so the hot path pays nothing for them; checkpoint figures
 * are recorded once per checkpoint, off the subtask thread ({@link #checkpoints()}).
 *
 * <p>Every series carries {@code stage} and {@code instance}. The endpoint starts before the
 * instance registers (the registration must name its port), so the instance id is not known yet:
 * until {@link #identify} it serves no Sluice series at all rather than series under a guessed
 * label that would vanish a moment later. The counters live for the whole process, across
 * restores and re-registrations, so every series is continuous.
 *
 * <p>Names (as Prometheus shows them; docs/metrics.md describes each): {@code
 * sluice_records_in_total}, {@code sluice_records_out_total}, {@code sluice_received_bytes_total},
 * {@code sluice_sent_bytes_total}, {@code sluice_dead_letters_total}, {@code
 * sluice_busy_time_milliseconds_total}, {@code sluice_backpressured_time_milliseconds_total},
 * {@code sluice_idle_time_milliseconds_total} (their rates are milliseconds per second), {@code
 * sluice_inbox_depth}, {@code sluice_watermark_milliseconds}, {@code
 * sluice_watermark_lag_milliseconds}; histograms {@code
 * sluice_checkpoint_alignment_time_milliseconds}, {@code
 * sluice_checkpoint_snapshot_time_milliseconds}, {@code sluice_checkpoint_duration_milliseconds},
 * {@code sluice_checkpoint_size_bytes}; {@code sluice_checkpoints_total{result="acked|declined"}},
 * {@code sluice_last_checkpoint_id} and {@code sluice_last_checkpoint_size_bytes}.
 *
 * <p>Thread-safe: {@link #identify} and the {@link CheckpointFigures} may be called from any
 * thread; the exporter's HTTP server runs on its own threads.
 */
public final class MetricsEndpoint implements AutoCloseable {
  private static final AttributeKey<String> STAGE = AttributeKey.stringKey("stage");
  private static final AttributeKey<String> INSTANCE = AttributeKey.stringKey("instance");
  private static final AttributeKey<String> RESULT = AttributeKey.stringKey("result");
  /**
   * Checkpoint times, milliseconds, about three buckets a decade: from a small state on an idle
   * pipeline (about a millisecond) to a minute, beyond which only the count matters.
   */
  static final List<Double> MILLISECOND_BUCKETS = List.of(
      1d, 2.5, 5d, 10d, 25d, 50d, 100d, 250d, 500d, 1_000d, 2_500d, 5_000d, 10_000d, 30_000d, 60_000d);
  /** State sizes, bytes: 1 KiB to 4 GiB in steps of 4. */
  static final List<Double> BYTE_BUCKETS = List.of(
      1024d, 4096d, 16_384d, 65_536d, 262_144d, 1_048_576d, 4_194_304d, 16_777_216d, 67_108_864d,
      268_435_456d, 1_073_741_824d, 4_294_967_296d);

  private final int port;
  private final String stage;
  private final SdkMeterProvider provider;
  // Null until identify(): callbacks and recordings skip while it is.
  private volatile Attributes identity;
  private final Checkpoints checkpoints;

  private MetricsEndpoint(int port, String stage, SdkMeterProvider provider) {
    this.port = port;
    this.stage = stage;
    this.provider = provider;
    this.checkpoints = new Checkpoints(provider.get("io.sluice.runtime"));
  }

  /**
   * Starts serving; no series appear before {@link #identify}.
   *
   * @param host the address to listen on
   * @param port the port; 0 picks a free one
   * @param stage the stage's name in the pipeline spec
   * @param metrics the process's counters (one subtask per process; kept across restores)
   * @param watermark the instance's current watermark, epoch millis ({@link Long#MIN_VALUE} before
   *     the first)
   */
  public static MetricsEndpoint start(
      String host, int port, String stage, TaskMetrics metrics, LongSupplier watermark)
      throws java.io.IOException {
    if (port == 0) {
      // The exporter does not tell which port it bound; pick a free one first.
      try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
        port = probe.getLocalPort();
      }
    }
    PrometheusHttpServer server = PrometheusHttpServer.builder().setHost(host).setPort(port).build();
    SdkMeterProvider provider = SdkMeterProvider.builder().registerMetricReader(server).build();
    MetricsEndpoint endpoint = new MetricsEndpoint(port, stage, provider);
    endpoint.observe(provider.get("io.sluice.runtime"), metrics, watermark);
    return endpoint;
  }

  private void observe(Meter meter, TaskMetrics metrics, LongSupplier watermark) {
    meter.counterBuilder("sluice.records.in").setUnit("{record}").setDescription("Records taken in")
        .buildWithCallback(m -> record(m, metrics.recordsIn()));
    meter.counterBuilder("sluice.records.out").setUnit("{record}").setDescription("Records sent on")
        .buildWithCallback(m -> record(m, metrics.recordsOut()));
    meter.counterBuilder("sluice.received").setUnit("By").setDescription("Bytes read from the transport")
        .buildWithCallback(m -> record(m, metrics.bytesIn()));
    meter.counterBuilder("sluice.sent").setUnit("By").setDescription("Bytes written to the transport")
        .buildWithCallback(m -> record(m, metrics.bytesOut()));
    meter.counterBuilder("sluice.dead_letters").setUnit("{record}").setDescription("Records dead-lettered")
        .buildWithCallback(m -> record(m, metrics.deadLetters()));
    meter.counterBuilder("sluice.busy.time").setUnit("ms")
        .setDescription("Time spent processing, or held back by maxRate")
        .buildWithCallback(m -> record(m, metrics.busyMillis()));
    meter.counterBuilder("sluice.backpressured.time").setUnit("ms")
        .setDescription("Time waiting for a downstream channel with input queued")
        .buildWithCallback(m -> record(m, metrics.backpressuredMillis()));
    meter.counterBuilder("sluice.idle.time").setUnit("ms").setDescription("Time waiting for input")
        .buildWithCallback(m -> record(m, metrics.idleMillis()));
    meter.gaugeBuilder("sluice.inbox.depth").ofLongs().setUnit("{frame}").setDescription("Frames queued")
        .buildWithCallback(m -> record(m, metrics.inboxDepth()));
    meter.gaugeBuilder("sluice.watermark").ofLongs().setUnit("ms").setDescription("Event-time watermark")
        .buildWithCallback(m -> {
          long w = watermark.getAsLong();
          if (w != Long.MIN_VALUE && w != Long.MAX_VALUE) {
            record(m, w);
          }
        });
    meter.gaugeBuilder("sluice.watermark.lag").ofLongs().setUnit("ms")
        .setDescription("Wall clock minus the watermark")
        .buildWithCallback(m -> {
          long w = watermark.getAsLong();
          if (w != Long.MIN_VALUE && w != Long.MAX_VALUE) {
            record(m, System.currentTimeMillis() - w);
          }
        });
    meter.gaugeBuilder("sluice.last_checkpoint.id").ofLongs()
        .setDescription("The last checkpoint this instance acked")
        .buildWithCallback(m -> {
          Last last = checkpoints.last.get();
          if (last != null) {
            record(m, last.id());
          }
        });
    meter.gaugeBuilder("sluice.last_checkpoint.size").ofLongs().setUnit("By")
        .setDescription("Stored size of the state in the last checkpoint this instance acked")
        .buildWithCallback(m -> {
          Last last = checkpoints.last.get();
          if (last != null) {
            record(m, last.sizeBytes());
          }
        });
  }

  private void record(ObservableLongMeasurement m, long value) {
    Attributes a = identity;
    if (a != null) {
      m.record(value, a);
    }
  }

  /**
   * Names the instance in every series: call with {@code Registered.instance_id} whenever the
   * coordinator answers a registration. Re-registering under the same id (after a coordinator
   * restart) changes nothing; the values carry on.
   */
  public void identify(String instanceId) {
    identity = Attributes.of(STAGE, stage, INSTANCE, instanceId);
  }

  /** Where the instance's snapshot writer tells what each checkpoint cost. */
  public CheckpointFigures checkpoints() {
    return checkpoints;
  }

  /** The port the endpoint listens on. */
  public int port() {
    return port;
  }

  @Override
  public void close() {
    provider.close();
  }

  private record Last(long id, long sizeBytes) {}

  /** The checkpoint instruments; OpenTelemetry's synchronous instruments are thread-safe. */
  private final class Checkpoints implements CheckpointFigures {
    final DoubleHistogram alignment;
    final DoubleHistogram snapshot;
    final DoubleHistogram duration;
    final LongHistogram size;
    final LongCounter results;
    final AtomicReference<Last> last = new AtomicReference<>();

    Checkpoints(Meter meter) {
      alignment = meter.histogramBuilder("sluice.checkpoint.alignment.time").setUnit("ms")
          .setDescription("From the first barrier of a checkpoint (a source: the trigger) until its snapshot")
          .setExplicitBucketBoundariesAdvice(MILLISECOND_BUCKETS).build();
      snapshot = meter.histogramBuilder("sluice.checkpoint.snapshot.time").setUnit("ms")
          .setDescription("Taking the snapshot and writing the state file")
          .setExplicitBucketBoundariesAdvice(MILLISECOND_BUCKETS).build();
      duration = meter.histogramBuilder("sluice.checkpoint.duration").setUnit("ms")
          .setDescription("The instance's part of a checkpoint: from its first barrier (or the trigger) to its ack")
          .setExplicitBucketBoundariesAdvice(MILLISECOND_BUCKETS).build();
      size = meter.histogramBuilder("sluice.checkpoint.size").ofLongs().setUnit("By")
          .setDescription("Stored size of the instance's state per checkpoint")
          .setExplicitBucketBoundariesAdvice(BYTE_BUCKETS.stream().map(Double::longValue).toList()).build();
      results = meter.counterBuilder("sluice.checkpoints").setUnit("{checkpoint}")
          .setDescription("Checkpoints this instance acked or declined").build();
    }

    @Override
    public void acked(long checkpointId, long alignmentNanos, long snapshotNanos, long durationNanos,
        long sizeBytes) {
      Attributes a = identity;
      if (a == null) {
        return; // cannot happen in a stage process: checkpoints begin after registration
      }
      alignment.record(alignmentNanos / 1e6, a);
      snapshot.record(snapshotNanos / 1e6, a);
      duration.record(durationNanos / 1e6, a);
      size.record(sizeBytes, a);
      results.add(1, a.toBuilder().put(RESULT, "acked").build());
      last.accumulateAndGet(new Last(checkpointId, sizeBytes), (old, now) -> old != null && old.id() > now.id() ? old : now);
    }

    @Override
    public void declined(long checkpointId) {
      Attributes a = identity;
      if (a != null) {
        results.add(1, a.toBuilder().put(RESULT, "declined").build());
      }
    }
  }
}
