package io.sluice.stages.format;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Reads an event time from JSON: epoch milliseconds (a whole number) or an ISO-8601 instant such
 * as {@code 2026-01-01T00:00:00Z} or {@code 2026-01-01T01:00:00+01:00}. Shared by the JSON-lines
 * format and the {@code map} stage so both accept the same forms. Stateless and thread-safe.
 */
public final class EventTimes {
  private EventTimes() {}

  /**
   * The time a node denotes, in epoch milliseconds.
   *
   * @throws IllegalArgumentException naming what was found, e.g. {@code must be epoch milliseconds
   *     or an ISO-8601 instant, got "yesterday"}
   */
  public static long fromJson(JsonNode node) {
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      return node.longValue();
    }
    if (node.isTextual()) {
      try {
        return Instant.parse(node.textValue().trim()).toEpochMilli();
      } catch (DateTimeParseException | ArithmeticException e) {
        // reported below with the value as given
      }
    }
    throw new IllegalArgumentException("must be epoch milliseconds or an ISO-8601 instant, got " + node);
  }
}
