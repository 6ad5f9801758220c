package io.sluice.runtime.api;

import java.util.Map;
import java.util.Objects;

/**
 * One event as an operator sees it: an id, a typed key and value, an event-time timestamp,
 * attributes and the trace context. Immutable and thread-safe; the {@code with...} methods return
 * copies.
 *
 * <p>A record derived with {@code with...} from an input record keeps its id, attributes and trace
 * context, so an operator that transforms records need not think about them. When a record is
 * forwarded unchanged, the runtime sends the original bytes without re-encoding them.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class Record<K, V> {
  // The id, or null until first asked for when it is still in its wire form (`idSource`): most
  // operators never look at it, and decoding it for every event costs more than the rest of a
  // pass-through. Racy but benign, as String.hashCode: Strings are safe to publish.
  private String id;
  private final Object idSource;
  private final K key;
  private final V value;
  private final long timestamp;
  private final Map<String, String> attributes;
  // An explicit trace context, or null when the record inherits the one of `traceSource`.
  private final TraceParent trace;
  // The wire event whose trace context this record carries, kept through with...() copies; read
  // lazily, so operators that never look at the trace never pay for decoding it. Opaque.
  final Object traceSource;
  // The wire event this record was decoded from, while key and value are still the decoded ones;
  // opaque to operators. Lets the runtime forward unchanged records without re-encoding.
  final Object origin;

  /** A new record with no id (the runtime derives one), no attributes and no trace context. */
  public Record(K key, V value, long timestamp) {
    this("", key, value, timestamp, Map.of(), null, null, null);
  }

  /** A new record with every field given. */
  public Record(
      String id, K key, V value, long timestamp, Map<String, String> attributes, TraceParent trace) {
    this(id, key, value, timestamp, Map.copyOf(attributes), trace, null, null);
  }

  Record(
      String id,
      K key,
      V value,
      long timestamp,
      Map<String, String> attributes,
      TraceParent trace,
      Object traceSource,
      Object origin) {
    this(Objects.requireNonNull(id, "id"), null, key, value, timestamp, attributes, trace, traceSource, origin);
  }

  private Record(
      String id,
      Object idSource,
      K key,
      V value,
      long timestamp,
      Map<String, String> attributes,
      TraceParent trace,
      Object traceSource,
      Object origin) {
    this.id = id;
    this.idSource = idSource;
    this.key = key;
    this.value = value;
    this.timestamp = timestamp;
    this.attributes = attributes;
    this.trace = trace;
    this.traceSource = trace == null ? traceSource : null;
    this.origin = origin;
  }

  /** The event id: unique per producer; "" when the runtime is to derive one. */
  public String id() {
    String s = id;
    if (s == null) {
      s = RecordAccess.resolveId(idSource);
      id = s;
    }
    return s;
  }

  public K key() {
    return key;
  }

  public V value() {
    return value;
  }

  /** Event time, epoch milliseconds. */
  public long timestamp() {
    return timestamp;
  }

  /** Small string attributes (headers); unmodifiable. */
  public Map<String, String> attributes() {
    return attributes;
  }

  /** The trace context, or null when the event carries none. */
  public TraceParent trace() {
    return trace != null ? trace : traceSource == null ? null : RecordAccess.resolveTrace(traceSource);
  }

  public <K2> Record<K2, V> withKey(K2 newKey) {
    return new Record<>(id, idSource, newKey, value, timestamp, attributes, trace, traceSource, null);
  }

  public <V2> Record<K, V2> withValue(V2 newValue) {
    return new Record<>(id, idSource, key, newValue, timestamp, attributes, trace, traceSource, null);
  }

  public Record<K, V> withTimestamp(long newTimestamp) {
    return new Record<>(id, idSource, key, value, newTimestamp, attributes, trace, traceSource, null);
  }

  public Record<K, V> withId(String newId) {
    return new Record<>(newId, key, value, timestamp, attributes, trace, traceSource, null);
  }

  /** A copy with one attribute added or replaced. */
  public Record<K, V> withAttribute(String name, String attributeValue) {
    var copy = new java.util.HashMap<>(attributes);
    copy.put(name, attributeValue);
    return new Record<>(id, idSource, key, value, timestamp, Map.copyOf(copy), trace, traceSource, null);
  }

  public Record<K, V> withTrace(TraceParent newTrace) {
    return new Record<>(id, idSource, key, value, timestamp, attributes, newTrace, null, null);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Record<?, ?> r
        && timestamp == r.timestamp
        && id().equals(r.id())
        && Objects.equals(key, r.key)
        && Objects.equals(value, r.value)
        && attributes.equals(r.attributes)
        && Objects.equals(trace(), r.trace());
  }

  @Override
  public int hashCode() {
    return Objects.hash(id(), key, value, timestamp, attributes);
  }

  @Override
  public String toString() {
    return "Record{id=" + id() + ", key=" + key + ", value=" + value + ", timestamp=" + timestamp
        + (attributes.isEmpty() ? "" : ", attributes=" + attributes) + "}";
  }

  static {
    // Gives the runtime's internal packages access to `origin` without making it public API.
    RecordAccess.install(
        new RecordAccess.Accessor() {
          @Override
          public Object origin(Record<?, ?> record) {
            return record.origin;
          }

          @Override
          public Object traceSource(Record<?, ?> record) {
            return record.traceSource;
          }

          @Override
          public <K, V> Record<K, V> create(
              String id,
              K key,
              V value,
              long timestamp,
              Map<String, String> attributes,
              TraceParent trace,
              Object origin) {
            return new Record<>(id, key, value, timestamp, attributes, trace, origin, origin);
          }

          @Override
          public <K, V> Record<K, V> createFromWire(Object idSource, K key, V value, long timestamp, Object origin) {
            return new Record<>(null, Objects.requireNonNull(idSource, "idSource"), key, value, timestamp,
                Map.of(), null, origin, origin);
          }
        });
  }
}
