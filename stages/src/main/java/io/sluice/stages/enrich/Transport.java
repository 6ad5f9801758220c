package io.sluice.stages.enrich;

import io.sluice.runtime.api.Record;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How the enrich operator calls its service. {@link #call} and {@link #close} are called from the
 * operator's thread only and never block; the futures they return complete on the transport's own
 * threads, and the operator moves the completion back to its thread.
 */
interface Transport {
  /**
   * Starts one call for {@code events} (one to {@code batch} of them).
   *
   * @param events the input records, payloads as they arrived (JSON objects); not modified
   * @param timeout how long to wait for the answer
   * @return one outcome per event, in order; or completes exceptionally with a {@link CallFailure}
   *     (possibly wrapped in a {@link java.util.concurrent.CompletionException}) for a failed
   *     attempt
   */
  CompletableFuture<List<Outcome>> call(List<Record<byte[], byte[]>> events, Duration timeout);

  /** Releases threads and connections; no call is in flight by then. */
  void close();
}
