package io.sluice.stages.enrich;

/**
 * A failed attempt to call the enrichment service: a connection error, a timeout, an HTTP status
 * other than 2xx, a broken gRPC stream, or an answer that does not fit the protocol. The event is
 * retried. The message describes the failure for the dead letter's reason. Carries no stack trace:
 * failures are expected and frequent, and the message says all there is to say.
 */
final class CallFailure extends RuntimeException {
  CallFailure(String message) {
    super(message, null, false, false);
  }
}
