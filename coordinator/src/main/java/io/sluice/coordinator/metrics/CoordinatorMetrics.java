package io.sluice.coordinator.metrics;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.sluice.coordinator.checkpoint.CheckpointStats;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.coordinator.watermark.GlobalWatermark;
import io.sluice.proto.v1.InstanceState;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The coordinator's metrics, kept with the OpenTelemetry SDK and written as Prometheus text by
 * {@link #writePrometheus} (the dashboard serves it at {@code /metrics}, so the coordinator needs
 * no second port).
 *
 * <p>Names, as Prometheus shows them: {@code sluice_checkpoints_completed_total} and {@code
 * sluice_checkpoints_aborted_total} (with {@code savepoint="true|false"}), {@code
 * sluice_checkpoint_duration_milliseconds} (a histogram of completed ones), {@code
 * sluice_checkpoint_last_duration_milliseconds}, {@code sluice_checkpoint_last_size_bytes}, {@code
 * sluice_checkpoint_last_alignment_milliseconds} (the longest alignment an instance reported in
 * its ack for the last completed checkpoint), {@code sluice_global_watermark_milliseconds}, {@code
 * sluice_global_watermark_lag_milliseconds} (wall clock minus it; both absent while unknown) and
 * {@code sluice_instances} by {@code state}. Every series carries {@code pipeline}.
 *
 * <p>Thread-safe: {@link #checkpointFinished} may be called from any thread (the coordinator
 * thread calls it), scrapes from the dashboard's threads.
 */
public final class CoordinatorMetrics implements AutoCloseable {
  private static final AttributeKey<String> PIPELINE = AttributeKey.stringKey("pipeline");
  private static final AttributeKey<String> STATE = AttributeKey.stringKey("state");
  private static final AttributeKey<Boolean> SAVEPOINT = AttributeKey.booleanKey("savepoint");

  private final Attributes pipeline;
  private final PrometheusMetricReader reader;
  private final SdkMeterProvider provider;
  private final PrometheusTextFormatWriter writer = new PrometheusTextFormatWriter(false);
  private final LongCounter completed;
  private final LongCounter aborted;
  private final DoubleHistogram duration;
  private final AtomicReference<CheckpointStats> lastCompleted = new AtomicReference<>();

  /**
   * @param registry the instances, counted by state, and their watermarks
   * @param clock wall time, for the watermark's lag
   */
  public CoordinatorMetrics(InstanceRegistry registry, Clock clock) {
    this.pipeline = Attributes.of(PIPELINE, registry.spec().name());
    // No otel_scope_* labels: one scope only, and the stage processes' series have none either.
    this.reader = new PrometheusMetricReader(false, name -> false);
    this.provider = SdkMeterProvider.builder().registerMetricReader(reader).build();
    Meter meter = provider.get("io.sluice.coordinator");
    completed = meter.counterBuilder("sluice.checkpoints.completed").setUnit("{checkpoint}")
        .setDescription("Checkpoints and savepoints completed").build();
    aborted = meter.counterBuilder("sluice.checkpoints.aborted").setUnit("{checkpoint}")
        .setDescription("Checkpoints and savepoints aborted").build();
    duration = meter.histogramBuilder("sluice.checkpoint.duration").setUnit("ms")
        .setDescription("From trigger to completion, of completed checkpoints")
        .setExplicitBucketBoundariesAdvice(List.of(
            10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0, 30_000.0,
            60_000.0))
        .build();
    meter.gaugeBuilder("sluice.checkpoint.last.duration").ofLongs().setUnit("ms")
        .setDescription("Duration of the last completed checkpoint")
        .buildWithCallback(m -> last().ifPresent(s -> m.record(s.durationMillis(), pipeline)));
    meter.gaugeBuilder("sluice.checkpoint.last.size").ofLongs().setUnit("By")
        .setDescription("Stored state of the last completed checkpoint")
        .buildWithCallback(m -> last().ifPresent(s -> m.record(s.sizeBytes(), pipeline)));
    meter.gaugeBuilder("sluice.checkpoint.last.alignment").ofLongs().setUnit("ms")
        .setDescription("Longest barrier alignment an instance reported for the last completed"
            + " checkpoint")
        .buildWithCallback(m -> last().ifPresent(s -> m.record(s.maxAlignmentMillis(), pipeline)));
    meter.gaugeBuilder("sluice.global_watermark").ofLongs().setUnit("ms")
        .setDescription("The pipeline's global event-time watermark, epoch millis")
        .buildWithCallback(m -> {
          long w = GlobalWatermark.of(registry.instances());
          if (known(w)) {
            m.record(w, pipeline);
          }
        });
    meter.gaugeBuilder("sluice.global_watermark.lag").ofLongs().setUnit("ms")
        .setDescription("Wall clock minus the global watermark")
        .buildWithCallback(m -> {
          long w = GlobalWatermark.of(registry.instances());
          if (known(w)) {
            m.record(clock.millis() - w, pipeline);
          }
        });
    meter.gaugeBuilder("sluice.instances").ofLongs().setUnit("{instance}")
        .setDescription("Registered stage instances by state")
        .buildWithCallback(m -> countByState(registry.instances()).forEach((state, n) ->
            m.record(n, pipeline.toBuilder().put(STATE, stateName(state)).build())));
  }

  /** Counts a checkpoint or savepoint that completed or aborted. Any thread. */
  public void checkpointFinished(CheckpointStats stats) {
    Attributes attrs = pipeline.toBuilder().put(SAVEPOINT, stats.savepoint()).build();
    switch (stats.state()) {
      case COMPLETED -> {
        completed.add(1, attrs);
        duration.record(stats.durationMillis(), attrs);
        lastCompleted.set(stats);
      }
      case ABORTED -> aborted.add(1, attrs);
      case IN_PROGRESS -> { } // not finished: nothing to count
    }
  }

  /** Writes every series as Prometheus text (version 0.0.4). Any thread. */
  public void writePrometheus(OutputStream out) throws IOException {
    writer.write(out, reader.collect());
  }

  /** The content type of {@link #writePrometheus}'s output. */
  public String contentType() {
    return writer.getContentType();
  }

  @Override
  public void close() {
    provider.close();
  }

  private Optional<CheckpointStats> last() {
    return Optional.ofNullable(lastCompleted.get());
  }

  private static boolean known(long watermark) {
    return watermark != GlobalWatermark.UNKNOWN && watermark != Long.MAX_VALUE;
  }

  private static Map<InstanceState, Long> countByState(List<InstanceSnapshot> instances) {
    Map<InstanceState, Long> counts = new EnumMap<>(InstanceState.class);
    for (InstanceSnapshot instance : instances) {
      counts.merge(instance.state(), 1L, Long::sum);
    }
    return counts;
  }

  /** {@code running}, {@code dead}…: the enum's name without its prefix. */
  static String stateName(InstanceState state) {
    return state == InstanceState.UNRECOGNIZED
        ? "unknown"
        : state.name().replace("INSTANCE_STATE_", "").toLowerCase(Locale.ROOT);
  }
}
