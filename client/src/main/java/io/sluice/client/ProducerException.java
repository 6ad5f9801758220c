package io.sluice.client;

import io.grpc.Status;

/**
 * A {@link SluiceProducer} failed and will deliver nothing more: the ingest answered with an error
 * that resending cannot fix (see {@link SluiceProducer} for which), acknowledgements stopped for
 * longer than the ack timeout, or the producer was aborted. Events through {@link
 * #stats()}{@code .ackedThroughSequence()} are safe; a new producer with the same producer id may
 * send the rest again (the ingest drops repeats).
 */
public final class ProducerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Status status;
  private final transient ProducerStats stats;

  public ProducerException(String message, Status status, ProducerStats stats) {
    super(message, status.asException());
    this.status = status;
    this.stats = stats;
  }

  /** The status the producer failed with (from the ingest, or chosen by the producer). */
  public Status status() {
    return status;
  }

  /** The producer's counters when it failed. */
  public ProducerStats stats() {
    return stats;
  }
}
