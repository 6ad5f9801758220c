package io.sluice.runtime.api;

import java.util.Map;

/**
 * Runtime-internal access to the parts of {@link Record} that are not API (the wire event a record
 * was decoded from). Not for operator authors: its shape may change in any release.
 */
public final class RecordAccess {
  /** What the runtime may do with a record beyond its public methods. */
  public interface Accessor {
    Object origin(Record<?, ?> record);

    /** The wire event whose trace context the record inherits, or null (explicit or none). */
    Object traceSource(Record<?, ?> record);

    /**
     * A record; with {@code trace} null and an {@code origin}, the record inherits the origin's
     * trace context, decoded only if someone asks.
     */
    <K, V> Record<K, V> create(
        String id,
        K key,
        V value,
        long timestamp,
        Map<String, String> attributes,
        TraceParent trace,
        Object origin);

    /**
     * A record decoded from the wire, without attributes, whose id is decoded from {@code
     * idSource} by the installed id resolver only when asked for; it inherits the origin's trace.
     */
    <K, V> Record<K, V> createFromWire(Object idSource, K key, V value, long timestamp, Object origin);
  }

  private static volatile Accessor accessor;
  private static volatile java.util.function.Function<Object, TraceParent> traceResolver;
  private static volatile java.util.function.Function<Object, String> idResolver;

  private RecordAccess() {}

  static void install(Accessor a) {
    accessor = a;
  }

  /** How the runtime turns a wire event's trace context into a {@link TraceParent}. */
  public static void installTraceResolver(java.util.function.Function<Object, TraceParent> resolver) {
    traceResolver = resolver;
  }

  /** How the runtime turns an id in wire form into a String. */
  public static void installIdResolver(java.util.function.Function<Object, String> resolver) {
    idResolver = resolver;
  }

  static String resolveId(Object source) {
    return idResolver.apply(source);
  }

  static TraceParent resolveTrace(Object source) {
    var r = traceResolver;
    return r == null ? null : r.apply(source);
  }

  /** The accessor; initialises {@link Record} first if need be. */
  public static Accessor get() {
    Accessor a = accessor;
    if (a == null) {
      try {
        Class.forName(Record.class.getName(), true, Record.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new AssertionError(e);
      }
      a = accessor;
    }
    return a;
  }
}
