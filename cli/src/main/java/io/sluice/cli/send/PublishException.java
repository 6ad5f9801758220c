package io.sluice.cli.send;

import io.grpc.Status;

/**
 * Publishing failed: the ingest ended the stream with an error, or stopped acknowledging. Events
 * acknowledged before the failure ({@link #progress()}{@code .ackedThrough()}) are safe; the rest
 * may be sent again with the same producer id, and the ingest drops the repeats.
 */
public final class PublishException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient Status status;
  private final transient PublishSummary progress;

  public PublishException(String message, Status status, PublishSummary progress) {
    super(message, status.asException());
    this.status = status;
    this.progress = progress;
  }

  /** The gRPC status the stream ended with (or that the publisher chose when it gave up). */
  public Status status() {
    return status;
  }

  /** How far publishing got: events written and the last acknowledgement. */
  public PublishSummary progress() {
    return progress;
  }
}
