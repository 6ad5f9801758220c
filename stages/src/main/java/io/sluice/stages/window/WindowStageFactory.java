package io.sluice.stages.window;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code type: window}: keyed event-time windows with an aggregate, with Flink's semantics (see
 * {@link WindowOperator}).
 *
 * <pre>
 * window: {tumbling: 1m}                  # or {sliding: {size: 10s, slide: 5s}}, or {session: {gap: 30s}}
 * aggregate: count                        # or {sum|min|max|avg|distinct: $.field}, or {java: com.acme.P95}
 * allowedLateness: 5s                     # default 0
 * earlyFiring: {count: 100}               # optional; or {interval: 5s} (processing time)
 * </pre>
 *
 * <p>Keys are UTF-8 strings; results are JSON, keyed like their input: {@code {"window_start": ms,
 * "window_end": ms, "<aggregate>": value, "timing": "early" | "on_time" | "late"}}. Events late
 * for all their windows go, unchanged, to the side output {@code late}. A {@code count} takes the
 * payload as raw bytes and never parses it; the other aggregates read a JSON payload.
 *
 * <p>Every setting is checked in {@link #create}; an error names its key (e.g. {@code
 * window.sliding.slide}). Stateless and thread-safe.
 */
public final class WindowStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "window";

  private static final List<String> KINDS = List.of("tumbling", "sliding", "session");
  private static final List<String> FIELD_AGGREGATES = List.of("sum", "min", "max", "avg", "distinct");
  private static final String AGGREGATE_FORMS = "count, {sum|min|max|avg|distinct: $.field} or {java: com.acme.MyAggregate}";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public boolean stateful() {
    return true;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    WindowAssigner assigner = assigner(config);
    Duration lateness = config.duration("allowedLateness", Duration.ZERO);
    if (lateness.isNegative()) {
      throw new ConfigException(
          "allowedLateness", "allowedLateness must not be negative, got " + Durations.format(lateness));
    }
    EarlyFiring early = earlyFiring(config);
    JsonNode aggregate =
        config
            .node("aggregate")
            .orElseThrow(() -> new ConfigException("aggregate", "'aggregate' is required: " + AGGREGATE_FORMS));
    if (aggregate.isTextual() && aggregate.asText().equals("count")) {
      // Counting needs no payload: raw bytes in, so the per-event path never parses JSON.
      OutputTag<String, byte[]> late = WindowOperator.lateOutput(Serdes.bytes());
      return new StageDefinition<>(
          Serdes.string(),
          Serdes.bytes(),
          Serdes.string(),
          Serdes.json(),
          () -> new WindowOperator<>(assigner, Aggregates.count(), lateness, early, late),
          List.of(late));
    }
    Supplier<AggregateFunction<JsonNode, ?, ?>> function = fieldOrJavaAggregate(config, aggregate);
    OutputTag<String, JsonNode> late = WindowOperator.lateOutput(Serdes.json());
    return new StageDefinition<>(
        Serdes.string(),
        Serdes.json(),
        Serdes.string(),
        Serdes.json(),
        () -> new WindowOperator<>(assigner, function.get(), lateness, early, late),
        List.of(late));
  }

  // ---------------------------------------------------------------- window

  private static WindowAssigner assigner(StageConfig config) {
    JsonNode window =
        config
            .node("window")
            .orElseThrow(() -> new ConfigException(
                "window", "'window' is required, e.g. window: {tumbling: 1m}, {sliding: {size: 10s, slide: 5s}}"
                    + " or {session: {gap: 30s}}"));
    if (!window.isObject() || window.isEmpty()) {
      throw new ConfigException(
          "window", "'window' must be one of {tumbling: 1m}, {sliding: {size: 10s, slide: 5s}}, {session: {gap: 30s}};"
              + " got: " + window);
    }
    List<String> given = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : window.properties()) {
      if (!KINDS.contains(e.getKey())) {
        throw new ConfigException(
            "window." + e.getKey(), "unknown window kind '" + e.getKey() + "' in 'window'; use one of " + KINDS);
      }
      given.add(e.getKey());
    }
    if (given.size() > 1) {
      throw new ConfigException(
          "window", "'window' has " + String.join(" and ", given) + "; give exactly one kind of window");
    }
    switch (given.get(0)) {
      case "tumbling" -> {
        Duration size = positive(config, "window.tumbling");
        return TumblingWindows.of(size);
      }
      case "sliding" -> {
        onlyKeys(config, "window.sliding", "{size: 10s, slide: 5s}", "size", "slide");
        Duration size = positive(config, "window.sliding.size");
        Duration slide = positive(config, "window.sliding.slide");
        if (slide.compareTo(size) > 0) {
          throw new ConfigException(
              "window.sliding.slide",
              "window.sliding.slide must not exceed window.sliding.size (" + Durations.format(size) + "), got "
                  + Durations.format(slide) + "; events would fall between windows");
        }
        try {
          return SlidingWindows.of(size, slide);
        } catch (IllegalArgumentException e) {
          throw new ConfigException("window.sliding.slide", "window.sliding: " + e.getMessage());
        }
      }
      default -> {
        onlyKeys(config, "window.session", "{gap: 30s}", "gap");
        return SessionWindows.withGap(positive(config, "window.session.gap"));
      }
    }
  }

  private static Duration positive(StageConfig config, String key) {
    Duration d = config.duration(key);
    if (d.toMillis() <= 0) {
      throw new ConfigException(key, key + " must be positive, got " + Durations.format(d));
    }
    return d;
  }

  /** Checks that {@code key} is a mapping with no keys but {@code allowed}. */
  private static void onlyKeys(StageConfig config, String key, String example, String... allowed) {
    JsonNode node = config.node(key).orElseThrow(() -> new ConfigException(key, "'" + key + "' must be " + example));
    if (!node.isObject()) {
      throw new ConfigException(key, "'" + key + "' must be " + example + ", got: " + node);
    }
    List<String> known = List.of(allowed);
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      if (!known.contains(e.getKey())) {
        throw new ConfigException(
            key + "." + e.getKey(), "unknown setting '" + e.getKey() + "' in '" + key + "'; use " + known);
      }
    }
  }

  // ---------------------------------------------------------------- early firing

  private static EarlyFiring earlyFiring(StageConfig config) {
    if (!config.has("earlyFiring")) {
      return EarlyFiring.none();
    }
    JsonNode node = config.node("earlyFiring").orElseThrow();
    if (!node.isObject() || node.size() != 1) {
      throw new ConfigException(
          "earlyFiring", "'earlyFiring' must be {count: N} or {interval: 5s} (one of them), got: " + node);
    }
    String kind = node.properties().iterator().next().getKey();
    switch (kind) {
      case "count" -> {
        JsonNode n = node.get("count");
        if (!n.canConvertToLong() || !n.isIntegralNumber() || n.longValue() <= 0) {
          throw new ConfigException(
              "earlyFiring.count", "earlyFiring.count must be a positive whole number, got " + n);
        }
        return EarlyFiring.everyCount(n.longValue());
      }
      case "interval" -> {
        Duration interval = positive(config, "earlyFiring.interval");
        return EarlyFiring.every(interval);
      }
      default ->
          throw new ConfigException(
              "earlyFiring." + kind, "unknown early firing '" + kind + "'; use {count: N} or {interval: 5s}");
    }
  }

  // ---------------------------------------------------------------- aggregate

  private static Supplier<AggregateFunction<JsonNode, ?, ?>> fieldOrJavaAggregate(
      StageConfig config, JsonNode aggregate) {
    if (aggregate.isTextual()) {
      String name = aggregate.asText();
      if (FIELD_AGGREGATES.contains(name)) {
        throw new ConfigException(
            "aggregate", "aggregate " + name + " needs a field, e.g. aggregate: {" + name + ": $.price}");
      }
      throw new ConfigException("aggregate", "unknown aggregate '" + name + "'; use " + AGGREGATE_FORMS);
    }
    if (!aggregate.isObject() || aggregate.size() != 1) {
      throw new ConfigException(
          "aggregate", "'aggregate' must be " + AGGREGATE_FORMS + " (exactly one), got: " + aggregate);
    }
    String kind = aggregate.properties().iterator().next().getKey();
    String key = "aggregate." + kind;
    switch (kind) {
      case "sum", "min", "max", "avg", "distinct" -> {
        config.jsonPath(key); // checks the path, naming the key
        String path = config.string(key);
        AggregateFunction<JsonNode, ?, ?> function =
            switch (kind) {
              case "sum" -> Aggregates.sum(path);
              case "min" -> Aggregates.min(path);
              case "max" -> Aggregates.max(path);
              case "avg" -> Aggregates.avg(path);
              default -> Aggregates.distinct(path);
            };
        return () -> function; // immutable: one for all operators
      }
      case "java" -> {
        JavaAggregate java = JavaAggregate.load(config.string(key), key);
        return java::newInstance;
      }
      case "count" ->
          throw new ConfigException(key, "count reads no field; write aggregate: count");
      default -> throw new ConfigException(key, "unknown aggregate '" + kind + "'; use " + AGGREGATE_FORMS);
    }
  }
}
