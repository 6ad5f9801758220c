package io.sluice.stages.enrich;

import com.fasterxml.jackson.databind.JsonNode;

/** What a successful call made of one event. Immutable. */
sealed interface Outcome {
  /** The enrichment: a JSON object to put into the payload under {@code into}. */
  record Enriched(JsonNode value) implements Outcome {}

  /**
   * The service refused the event for good (a gRPC {@code FunctionResult.error}): dead-letter it
   * now, without retrying.
   */
  record Rejected(String reason) implements Outcome {}

  /** The service filtered the event out (a gRPC result with no outputs): emit nothing. */
  record Dropped() implements Outcome {}
}
