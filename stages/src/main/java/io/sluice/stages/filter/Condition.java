package io.sluice.stages.filter;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One entry of {@code where:}: a field and one or more operators, all of which must hold.
 * Immutable and thread-safe.
 *
 * <p>A missing field equals nothing (so {@code equals} and {@code in} fail and {@code notEquals}
 * holds) and is neither greater nor less than anything. A field that is present but null
 * "exists". A present, non-null field that is not a number cannot be compared with {@code gt},
 * {@code gte}, {@code lt} or {@code lte}: {@link #test} throws {@link NotComparable} so the event
 * goes to the dead letters rather than vanishing.
 */
final class Condition {
  static final List<String> OPERATORS = List.of("equals", "notEquals", "in", "exists", "gt", "gte", "lt", "lte");

  // Numbers are equal by value (5 equals 5.0: YAML and JSON writers disagree on which to write);
  // everything else by Jackson's structural equality.
  private static final Comparator<JsonNode> BY_VALUE =
      (a, b) -> a.isNumber() && b.isNumber() ? compareNumbers(a, b) : (a.equals(b) ? 0 : 1);

  private final String path;
  private final JsonPointer pointer;
  private final List<Test> tests;

  private Condition(String path, JsonPointer pointer, List<Test> tests) {
    this.path = path;
    this.pointer = pointer;
    this.tests = List.copyOf(tests);
  }

  /** A payload field that a numeric operator cannot compare; the message says which and why. */
  static final class NotComparable extends RuntimeException {
    NotComparable(String message) {
      super(message, null, false, false);
    }
  }

  @FunctionalInterface
  private interface Test {
    boolean test(JsonNode field);
  }

  /**
   * Reads one condition.
   *
   * @param key where it sits in the settings, e.g. "where" or "where.1", for error messages
   */
  static Condition parse(StageConfig config, String key, JsonNode spec) {
    if (!spec.isObject()) {
      throw new ConfigException(
          key, "'" + key + "' must be a condition such as {field: $.action, equals: purchase}, got: " + spec);
    }
    JsonPointer pointer = config.jsonPath(key + ".field");
    String path = config.string(key + ".field");
    List<Test> tests = new ArrayList<>();
    for (Map.Entry<String, JsonNode> entry : spec.properties()) {
      String op = entry.getKey();
      JsonNode operand = entry.getValue();
      String opKey = key + "." + op;
      switch (op) {
        case "field" -> {}
        case "equals" -> tests.add(field -> !field.isMissingNode() && field.equals(BY_VALUE, operand));
        case "notEquals" -> tests.add(field -> field.isMissingNode() || !field.equals(BY_VALUE, operand));
        case "in" -> {
          if (!operand.isArray() || operand.isEmpty()) {
            throw new ConfigException(opKey, "'" + opKey + "' must be a non-empty list, got: " + operand);
          }
          List<JsonNode> values = new ArrayList<>();
          operand.forEach(values::add);
          tests.add(field -> !field.isMissingNode() && values.stream().anyMatch(v -> field.equals(BY_VALUE, v)));
        }
        case "exists" -> {
          if (!operand.isBoolean()) {
            throw new ConfigException(opKey, "'" + opKey + "' must be true or false, got: " + operand);
          }
          boolean wanted = operand.booleanValue();
          tests.add(field -> !field.isMissingNode() == wanted);
        }
        case "gt", "gte", "lt", "lte" -> {
          if (!operand.isNumber() || !Double.isFinite(operand.doubleValue())) {
            throw new ConfigException(opKey, "'" + opKey + "' must be a number, got: " + operand);
          }
          tests.add(numeric(path, op, operand));
        }
        default ->
            throw new ConfigException(
                opKey, "unknown operator '" + op + "' in '" + key + "'; use field and one or more of " + OPERATORS);
      }
    }
    if (tests.isEmpty()) {
      throw new ConfigException(
          key, "'" + key + "' has a field but no operator; add one of " + OPERATORS + " (e.g. equals: purchase)");
    }
    return new Condition(path, pointer, tests);
  }

  /** Whether the payload satisfies every operator of this condition. */
  boolean test(JsonNode payload) {
    JsonNode field = payload.at(pointer);
    for (Test t : tests) {
      if (!t.test(field)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return path + " " + tests.size() + " test(s)";
  }

  private static Test numeric(String path, String op, JsonNode operand) {
    return field -> {
      if (field.isMissingNode() || field.isNull()) {
        return false;
      }
      if (!field.isNumber()) {
        throw new NotComparable(
            "filter: " + path + " is " + field + ", not a number, so '" + op + ": " + operand + "' cannot be applied");
      }
      int c = compareNumbers(field, operand);
      return switch (op) {
        case "gt" -> c > 0;
        case "gte" -> c >= 0;
        case "lt" -> c < 0;
        default -> c <= 0;
      };
    };
  }

  private static int compareNumbers(JsonNode a, JsonNode b) {
    // BigDecimal keeps long and big integers exact; a non-finite double has no BigDecimal form.
    if (!Double.isFinite(a.doubleValue()) || !Double.isFinite(b.doubleValue())) {
      return Double.compare(a.doubleValue(), b.doubleValue());
    }
    BigDecimal x = a.decimalValue();
    BigDecimal y = b.decimalValue();
    return x.compareTo(y);
  }
}
