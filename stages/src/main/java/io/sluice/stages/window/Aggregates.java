package io.sluice.stages.window;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.StageConfig;
import io.sluice.stages.internal.StateBytes;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The built-in aggregates of the {@code window} stage, as {@link AggregateFunction}s that a {@link
 * WindowOperator} (or a user's own Java stage) can use. Each result is named after its aggregate
 * ({@code "count"}, {@code "sum"}…).
 *
 * <ul>
 *   <li>{@link #count()}: the number of events, an integer; never looks at the value;
 *   <li>{@link #sum}, {@link #min}, {@link #max}: a number field's sum, least and greatest value.
 *       A sum of integers stays an exact integer while it fits in a {@code long}; a fraction
 *       anywhere (or an overflow) makes it a double. Min and max return the field as it was
 *       written ({@code 5} stays {@code 5}, {@code 2.50} stays {@code 2.5}) and compare numbers by
 *       value;
 *   <li>{@link #avg}: the mean of a number field, always a double;
 *   <li>{@link #distinct}: how many distinct JSON values a field took, exactly (a set of them).
 *       Numbers are equal by value ({@code 5}, {@code 5.0} and {@code 5e0} are one value), objects
 *       by their fields in any order; {@code null} is a value.
 * </ul>
 *
 * <p>A field that is missing, or (for sum, min, max, avg) not a number, makes {@code add} throw
 * {@link IllegalArgumentException} naming the path, before the accumulator is touched; {@link
 * WindowOperator} then dead-letters the event and leaves the window unchanged.
 *
 * <p>Checkpoints: every aggregate's {@link AggregateFunction#accumulatorSerde()} is a compact
 * binary form with a leading format version: a count is a {@code long}; sum and avg the exact
 * integer part, the double part, whether it is still exact, and the number of values; min and max
 * the value with its JSON number type; distinct its values, each with its JSON types. A restored
 * accumulator gives the results, and takes further values, exactly as the original would.
 *
 * <p>The functions are immutable and thread-safe; their accumulators are mutable and, like all
 * window state, confined to the operator's thread.
 */
public final class Aggregates {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Aggregates() {}

  /** The number of events in the window. */
  public static AggregateFunction<Object, ?, Long> count() {
    return Count.INSTANCE;
  }

  /**
   * The sum of a number field.
   *
   * @param path a JSON path such as {@code $.price}
   * @throws IllegalArgumentException if {@code path} is not a JSON path
   */
  public static AggregateFunction<JsonNode, ?, JsonNode> sum(String path) {
    return new Sum(new Field("sum", path));
  }

  /** The least value of a number field; see {@link #sum} for {@code path}. */
  public static AggregateFunction<JsonNode, ?, JsonNode> min(String path) {
    return new Extreme(new Field("min", path), -1);
  }

  /** The greatest value of a number field; see {@link #sum} for {@code path}. */
  public static AggregateFunction<JsonNode, ?, JsonNode> max(String path) {
    return new Extreme(new Field("max", path), 1);
  }

  /** The mean of a number field, a double; see {@link #sum} for {@code path}. */
  public static AggregateFunction<JsonNode, ?, Double> avg(String path) {
    return new Avg(new Field("avg", path));
  }

  /** How many distinct JSON values a field took; see {@link #sum} for {@code path}. */
  public static AggregateFunction<JsonNode, ?, Long> distinct(String path) {
    return new Distinct(new Field("distinct", path));
  }

  // ---------------------------------------------------------------- count

  /** A counter that {@code add} increments in place, so counting allocates nothing per event. */
  private static final class Counter {
    long n;
  }

  private static final class Count implements AggregateFunction<Object, Counter, Long> {
    static final Count INSTANCE = new Count();

    @Override
    public Counter createAccumulator() {
      return new Counter();
    }

    @Override
    public Counter add(Object value, Counter acc) {
      acc.n++;
      return acc;
    }

    @Override
    public Counter merge(Counter a, Counter b) {
      a.n += b.n;
      return a;
    }

    @Override
    public Long result(Counter acc) {
      return acc.n;
    }

    @Override
    public String name() {
      return "count";
    }

    @Override
    public Serde<Counter> accumulatorSerde() {
      return COUNTER_SERDE;
    }
  }

  private static final Serde<Counter> COUNTER_SERDE =
      new AccumulatorSerde<>("count") {
        @Override
        void write(DataOutputStream out, Counter acc) throws IOException {
          out.writeLong(acc.n);
        }

        @Override
        Counter read(DataInputStream in) throws IOException {
          Counter acc = new Counter();
          acc.n = in.readLong();
          return acc;
        }
      };

  // ---------------------------------------------------------------- checkpoints

  /**
   * An accumulator serde framed by {@link StateBytes}: a format version, then the fields. Malformed
   * bytes fail with a {@link SerdeException} naming the aggregate.
   */
  private abstract static class AccumulatorSerde<A> implements Serde<A> {
    private static final int VERSION = 1;
    private final String aggregate;

    AccumulatorSerde(String aggregate) {
      this.aggregate = aggregate;
    }

    abstract void write(DataOutputStream out, A acc) throws IOException;

    abstract A read(DataInputStream in) throws IOException;

    @Override
    public final byte[] serialize(A acc) {
      return StateBytes.write(VERSION, out -> write(out, acc));
    }

    @Override
    public final A deserialize(byte[] bytes) {
      try {
        return StateBytes.read(bytes, VERSION, "the " + aggregate + " accumulator", (in, version) -> read(in));
      } catch (IllegalStateException e) {
        throw new SerdeException(e.getMessage(), e);
      }
    }
  }

  // ---------------------------------------------------------------- field access

  /** The field an aggregate reads: its JSON path as written, compiled. */
  private static final class Field {
    final String aggregate;
    final String path;
    final JsonPointer pointer;

    Field(String aggregate, String path) {
      this.aggregate = aggregate;
      this.path = path;
      this.pointer = StageConfig.toPointer(path);
    }

    /** The field's value; throws when it is missing. */
    JsonNode read(JsonNode payload) {
      JsonNode v = payload.at(pointer);
      if (v.isMissingNode()) {
        throw new IllegalArgumentException(path + " is missing; " + aggregate + " needs a value there");
      }
      return v;
    }

    /** The field's value; throws when it is missing or not a number. */
    JsonNode number(JsonNode payload) {
      JsonNode v = payload.at(pointer);
      if (v.isMissingNode()) {
        throw new IllegalArgumentException(path + " is missing; " + aggregate + " needs a number there");
      }
      if (!v.isNumber()) {
        throw new IllegalArgumentException(
            path + " is " + shorten(v) + ", not a number; " + aggregate + " needs a number there");
      }
      return v;
    }

    private static String shorten(JsonNode v) {
      String text = v.toString();
      return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }
  }

  // ---------------------------------------------------------------- sum and avg

  /**
   * A sum kept exact while it can be: integers add up in a {@code long}; fractions, integers beyond
   * a {@code long} and the overflow of the integer part go to a double.
   */
  private static final class Total {
    long integral;
    double fractional;
    boolean exact = true;
    long count;

    void add(JsonNode number) {
      count++;
      if (number.isIntegralNumber() && number.canConvertToLong()) {
        addIntegral(number.longValue());
      } else {
        fractional += number.doubleValue();
        exact = false;
      }
    }

    void addIntegral(long x) {
      try {
        integral = Math.addExact(integral, x);
      } catch (ArithmeticException overflow) {
        fractional += (double) integral + (double) x;
        integral = 0;
        exact = false;
      }
    }

    void merge(Total other) {
      count += other.count;
      addIntegral(other.integral);
      fractional += other.fractional;
      exact &= other.exact;
    }

    double value() {
      return integral + fractional;
    }
  }

  /** Sum and average: a running Total of a numeric field; they differ only in the result. */
  private abstract static class OverTotal<R> implements AggregateFunction<JsonNode, Total, R> {
    private final Field field;

    OverTotal(Field field) {
      this.field = field;
    }

    @Override
    public Total createAccumulator() {
      return new Total();
    }

    @Override
    public Total add(JsonNode value, Total acc) {
      acc.add(field.number(value));
      return acc;
    }

    @Override
    public Total merge(Total a, Total b) {
      a.merge(b);
      return a;
    }

    @Override
    public Serde<Total> accumulatorSerde() {
      return TOTAL_SERDE;
    }
  }

  private static final Serde<Total> TOTAL_SERDE =
      new AccumulatorSerde<>("sum/avg") {
        @Override
        void write(DataOutputStream out, Total acc) throws IOException {
          out.writeLong(acc.integral);
          out.writeDouble(acc.fractional);
          out.writeBoolean(acc.exact);
          out.writeLong(acc.count);
        }

        @Override
        Total read(DataInputStream in) throws IOException {
          Total acc = new Total();
          acc.integral = in.readLong();
          acc.fractional = in.readDouble();
          acc.exact = in.readBoolean();
          acc.count = in.readLong();
          return acc;
        }
      };

  private static final class Sum extends OverTotal<JsonNode> {
    Sum(Field field) {
      super(field);
    }

    @Override
    public JsonNode result(Total acc) {
      return acc.exact ? LongNode.valueOf(acc.integral) : DoubleNode.valueOf(acc.value());
    }

    @Override
    public String name() {
      return "sum";
    }
  }

  private static final class Avg extends OverTotal<Double> {
    Avg(Field field) {
      super(field);
    }

    @Override
    public Double result(Total acc) {
      return acc.value() / acc.count;
    }

    @Override
    public String name() {
      return "avg";
    }
  }

  // ---------------------------------------------------------------- min and max

  /** The best number so far, as written in the payload; null before the first. */
  private static final class Best {
    JsonNode value;
  }

  private static final class Extreme implements AggregateFunction<JsonNode, Best, JsonNode> {
    private final Field field;
    private final int sign; // 1 keeps the greatest, -1 the least

    Extreme(Field field, int sign) {
      this.field = field;
      this.sign = sign;
    }

    @Override
    public Best createAccumulator() {
      return new Best();
    }

    @Override
    public Best add(JsonNode value, Best acc) {
      offer(acc, field.number(value));
      return acc;
    }

    @Override
    public Best merge(Best a, Best b) {
      if (b.value != null) {
        offer(a, b.value);
      }
      return a;
    }

    private void offer(Best acc, JsonNode candidate) {
      // Strictly better only: of equal values the first one stays, as written.
      if (acc.value == null || sign * compareNumbers(candidate, acc.value) > 0) {
        acc.value = candidate;
      }
    }

    @Override
    public JsonNode result(Best acc) {
      return acc.value == null ? NODES.nullNode() : acc.value;
    }

    @Override
    public String name() {
      return field.aggregate;
    }

    @Override
    public Serde<Best> accumulatorSerde() {
      return BEST_SERDE;
    }
  }

  private static final Serde<Best> BEST_SERDE =
      new AccumulatorSerde<>("min/max") {
        @Override
        void write(DataOutputStream out, Best acc) throws IOException {
          out.writeBoolean(acc.value != null);
          if (acc.value != null) {
            JsonValueCodec.write(out, acc.value);
          }
        }

        @Override
        Best read(DataInputStream in) throws IOException {
          Best acc = new Best();
          acc.value = in.readBoolean() ? JsonValueCodec.read(in) : null;
          return acc;
        }
      };

  /** Compares two JSON numbers by value. */
  static int compareNumbers(JsonNode a, JsonNode b) {
    if (a.isIntegralNumber() && b.isIntegralNumber() && a.canConvertToLong() && b.canConvertToLong()) {
      return Long.compare(a.longValue(), b.longValue()); // the common case, without allocating
    }
    // BigDecimal keeps long and big integers exact; a non-finite double has no BigDecimal form.
    if (!Double.isFinite(a.doubleValue()) || !Double.isFinite(b.doubleValue())) {
      return Double.compare(a.doubleValue(), b.doubleValue());
    }
    return a.decimalValue().compareTo(b.decimalValue());
  }

  // ---------------------------------------------------------------- distinct

  private static final class Distinct implements AggregateFunction<JsonNode, Set<JsonNode>, Long> {
    private final Field field;

    Distinct(Field field) {
      this.field = field;
    }

    @Override
    public Set<JsonNode> createAccumulator() {
      return new HashSet<>();
    }

    @Override
    public Set<JsonNode> add(JsonNode value, Set<JsonNode> acc) {
      acc.add(canonical(field.read(value)));
      return acc;
    }

    @Override
    public Set<JsonNode> merge(Set<JsonNode> a, Set<JsonNode> b) {
      if (a.size() < b.size()) {
        b.addAll(a);
        return b;
      }
      a.addAll(b);
      return a;
    }

    @Override
    public Long result(Set<JsonNode> acc) {
      return (long) acc.size();
    }

    @Override
    public String name() {
      return "distinct";
    }

    @Override
    public Serde<Set<JsonNode>> accumulatorSerde() {
      return DISTINCT_SERDE;
    }
  }

  // The values are canonical already (see canonical()); their types are kept, so a restored value
  // equals the canonical form of the same value arriving later.
  private static final Serde<Set<JsonNode>> DISTINCT_SERDE =
      new AccumulatorSerde<>("distinct") {
        @Override
        void write(DataOutputStream out, Set<JsonNode> acc) throws IOException {
          out.writeInt(acc.size());
          for (JsonNode v : acc) {
            JsonValueCodec.write(out, v);
          }
        }

        @Override
        Set<JsonNode> read(DataInputStream in) throws IOException {
          int n = JsonValueCodec.readCount(in);
          Set<JsonNode> acc = new HashSet<>(Math.max(16, Math.min(n, 1 << 20) * 4 / 3 + 1));
          for (int i = 0; i < n; i++) {
            acc.add(JsonValueCodec.read(in));
          }
          return acc;
        }
      };

  /**
   * A form of a JSON value in which values that JSON deems equal are {@code equals}: Jackson tells
   * {@code 5}, {@code 5.0} and a {@code long} 5 apart, JSON does not. Integral numbers become a
   * {@link LongNode} (or an exact {@link DecimalNode} beyond a long), other numbers keep their
   * parsed form with trailing zeros stripped; objects and arrays are rebuilt only when they hold a
   * number.
   */
  static JsonNode canonical(JsonNode v) {
    if (v.isNumber()) {
      return canonicalNumber(v);
    }
    if (v.isObject() && holdsNumber(v)) {
      ObjectNode copy = NODES.objectNode();
      for (Map.Entry<String, JsonNode> e : v.properties()) {
        copy.set(e.getKey(), canonical(e.getValue()));
      }
      return copy;
    }
    if (v.isArray() && holdsNumber(v)) {
      ArrayNode copy = NODES.arrayNode(v.size());
      for (JsonNode element : v) {
        copy.add(canonical(element));
      }
      return copy;
    }
    return v;
  }

  private static JsonNode canonicalNumber(JsonNode v) {
    if (v.isIntegralNumber()) {
      return v.canConvertToLong() ? LongNode.valueOf(v.longValue()) : DecimalNode.valueOf(new BigDecimal(v.bigIntegerValue()));
    }
    if (v.isDouble() || v.isFloat()) {
      double d = v.doubleValue();
      if (!Double.isFinite(d)) {
        return DoubleNode.valueOf(d);
      }
      if (d == Math.rint(d) && Math.abs(d) < 0x1p63) {
        return LongNode.valueOf((long) d); // also folds -0.0 into 0
      }
      return DoubleNode.valueOf(d);
    }
    BigDecimal d = v.decimalValue().stripTrailingZeros();
    if (d.scale() <= 0) {
      BigInteger i = d.toBigIntegerExact();
      return i.bitLength() < 64 ? LongNode.valueOf(i.longValue()) : DecimalNode.valueOf(new BigDecimal(i));
    }
    return DecimalNode.valueOf(d);
  }

  private static boolean holdsNumber(JsonNode container) {
    for (JsonNode child : container) {
      if (child.isNumber() || (child.isContainerNode() && holdsNumber(child))) {
        return true;
      }
    }
    return false;
  }
}
