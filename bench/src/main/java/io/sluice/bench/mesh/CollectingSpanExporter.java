package io.sluice.bench.mesh;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Keeps every span it is given, for benchmarks that need real ended spans as data (to encode them
 * as the stages do). Behind a {@code SimpleSpanProcessor} each span arrives as it ends.
 *
 * <p>Threading: thread-safe.
 */
public final class CollectingSpanExporter implements SpanExporter {
  // Guarded by this.
  private final List<SpanData> spans = new ArrayList<>();

  @Override
  public synchronized CompletableResultCode export(Collection<SpanData> ended) {
    spans.addAll(ended);
    return CompletableResultCode.ofSuccess();
  }

  /** How many spans have arrived. */
  public synchronized int count() {
    return spans.size();
  }

  /** The first {@code n} spans that arrived, in that order. */
  public synchronized List<SpanData> first(int n) {
    return List.copyOf(spans.subList(0, n));
  }

  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    return CompletableResultCode.ofSuccess();
  }
}
