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

    <K, V> Record<K, V> create(
        String id,
        K key,
        V value,
        long timestamp,
        Map<String, String> attributes,
        TraceParent trace,
        Object origin);
  }

  private static volatile Accessor accessor;

  private RecordAccess() {}

  static void install(Accessor a) {
    accessor = a;
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
