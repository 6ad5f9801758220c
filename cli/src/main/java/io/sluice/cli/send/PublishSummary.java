package io.sluice.cli.send;

import java.util.Locale;

/**
 * The outcome of one {@link Publisher#publish} call. Immutable.
 *
 * @param events distinct events written to the stream (sequences {@code 1..events})
 * @param seconds wall time from the start of the stream to the final acknowledgement
 * @param eventsPerSecond {@code events / seconds}
 * @param ackedThrough the highest sequence the ingest acknowledged
 * @param duplicatesDropped how many events the ingest dropped as repeats of ones it already had
 * @param reconnects streams opened after the first (the stream broke and was reopened)
 * @param resent events written again after a reconnect (the ingest drops those it already had)
 */
public record PublishSummary(
    long events,
    double seconds,
    double eventsPerSecond,
    long ackedThrough,
    long duplicatesDropped,
    long reconnects,
    long resent) {

  /**
   * {@code sent N events in T s (X events/s); acked through N; D duplicates dropped; R reconnects,
   * E events resent}.
   */
  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "sent %d events in %.2f s (%.0f events/s); acked through %d; %d duplicates dropped;"
            + " %d reconnects, %d events resent",
        events,
        seconds,
        eventsPerSecond,
        ackedThrough,
        duplicatesDropped,
        reconnects,
        resent);
  }
}
