package io.sluice.stages.filter;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code type: filter}: keeps the events whose JSON payload matches every condition and drops the
 * rest; kept events pass unchanged (their original bytes).
 *
 * <pre>
 * where: {field: $.action, equals: purchase}
 * where:                                   # a list: all must hold
 *   - {field: $.country, in: [DE, FR]}
 *   - {field: $.price, gte: 10, lt: 100}   # several operators on one field: all must hold
 *   - {field: $.coupon, exists: false}
 * </pre>
 *
 * <p>Operators: {@code equals}, {@code notEquals} (any JSON value; numbers compare by value),
 * {@code in} (a list), {@code exists} (true/false; a field holding null exists), {@code gt},
 * {@code gte}, {@code lt}, {@code lte} (numbers). A missing field matches only {@code notEquals}
 * and {@code exists: false}. Dead letters: a payload that is not JSON, and a payload whose field
 * is not a number where a numeric operator needs one.
 *
 * <p>Keys are UTF-8 strings, payloads JSON. Stateless and thread-safe; each operator it makes is
 * confined to its subtask's thread.
 */
public final class FilterStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "filter";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public StageDefinition<String, JsonNode, String, JsonNode> create(StageConfig config) {
    JsonNode where =
        config
            .node("where")
            .orElseThrow(
                () -> new ConfigException(
                    "where", "'where' is required, e.g. where: {field: $.action, equals: purchase}"));
    List<Condition> conditions = new ArrayList<>();
    if (where.isArray()) {
      if (where.isEmpty()) {
        throw new ConfigException("where", "'where' is an empty list; give at least one condition");
      }
      for (int i = 0; i < where.size(); i++) {
        conditions.add(Condition.parse(config, "where." + i, where.get(i)));
      }
    } else {
      conditions.add(Condition.parse(config, "where", where));
    }
    List<Condition> all = List.copyOf(conditions);
    return StageDefinition.of(
        Serdes.string(), Serdes.json(), Serdes.string(), Serdes.json(), () -> new FilterOperator(all));
  }

  /** Forwards the input record itself when every condition holds. */
  static final class FilterOperator implements Operator<String, JsonNode, String, JsonNode> {
    private final List<Condition> conditions;
    private OperatorContext<String, JsonNode> context;

    FilterOperator(List<Condition> conditions) {
      this.conditions = conditions;
    }

    @Override
    public void init(OperatorContext<String, JsonNode> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, JsonNode> record) {
      try {
        for (Condition c : conditions) {
          if (!c.test(record.value())) {
            return;
          }
        }
      } catch (Condition.NotComparable e) {
        context.deadLetter(e.getMessage());
        return;
      }
      // The same object, not a copy: the runtime then sends the original bytes.
      context.forward(record);
    }
  }
}
