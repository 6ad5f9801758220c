package io.sluice.stages.dedup;

import com.fasterxml.jackson.core.JsonPointer;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;

/**
 * What {@code by:} names: the event id, the key, or a field of the JSON payload. Immutable.
 *
 * @param kind which of the three
 * @param path the JSON path as written (for messages), or null
 * @param pointer the compiled path, or null
 */
record DedupBy(Kind kind, String path, JsonPointer pointer) {
  /** Where the value comes from. */
  enum Kind {
    ID,
    KEY,
    PATH
  }

  static DedupBy parse(StageConfig config) {
    String by = config.string("by", "id").trim();
    switch (by) {
      case "id":
        return new DedupBy(Kind.ID, null, null);
      case "key":
        return new DedupBy(Kind.KEY, null, null);
      default:
        if (!by.startsWith("$")) {
          throw new ConfigException(
              "by", "'by' must be id, key or a JSON path into the payload such as $.order.id, got: " + by);
        }
        // "$" alone is the whole payload: duplicates are then events whose payloads have the same
        // JSON text once parsed (whitespace aside; field order counts).
        return new DedupBy(Kind.PATH, by, config.jsonPath("by"));
    }
  }

  /** How the spec names it, e.g. "by: $.order.id". */
  String describe() {
    return switch (kind) {
      case ID -> "by: id";
      case KEY -> "by: key";
      case PATH -> "by: " + path;
    };
  }
}
