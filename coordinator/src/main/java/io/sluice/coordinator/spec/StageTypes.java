package io.sluice.coordinator.spec;

import io.sluice.runtime.api.StageFactory;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The stage types a pipeline may use: every {@link StageFactory} on the class path, by {@link
 * StageFactory#type()}. Immutable and thread-safe once built.
 */
public final class StageTypes {
  private final SortedMap<String, StageFactory> byType;

  private StageTypes(SortedMap<String, StageFactory> byType) {
    this.byType = Collections.unmodifiableSortedMap(byType);
  }

  /**
   * Every factory listed in {@code META-INF/services/io.sluice.runtime.api.StageFactory} on the
   * class path of this class's loader.
   *
   * @throws IllegalStateException when two factories claim the same type, or a listed factory
   *     cannot be instantiated
   */
  public static StageTypes load() {
    return load(StageTypes.class.getClassLoader());
  }

  /** Like {@link #load()}, with the given class loader. */
  public static StageTypes load(ClassLoader loader) {
    try {
      return of(ServiceLoader.load(StageFactory.class, loader).stream()
          .map(ServiceLoader.Provider::get)
          .toList());
    } catch (java.util.ServiceConfigurationError e) {
      throw new IllegalStateException(
          "a stage factory listed in META-INF/services/" + StageFactory.class.getName()
              + " cannot be loaded; fix or remove that entry: " + e.getMessage(),
          e);
    }
  }

  /** Exactly the given factories. */
  public static StageTypes of(List<? extends StageFactory> factories) {
    SortedMap<String, StageFactory> byType = new TreeMap<>();
    for (StageFactory f : factories) {
      StageFactory previous = byType.putIfAbsent(f.type(), f);
      if (previous != null && previous.getClass() != f.getClass()) {
        throw new IllegalStateException(
            "stage type '" + f.type() + "' is served by both " + previous.getClass().getName()
                + " and " + f.getClass().getName() + "; remove one from the class path");
      }
    }
    return new StageTypes(byType);
  }

  /** The factory of a type, if known. */
  public Optional<StageFactory> find(String type) {
    return Optional.ofNullable(byType.get(type));
  }

  /** The known type names, sorted. */
  public List<String> names() {
    return List.copyOf(byType.keySet());
  }

  /** Every factory by type, sorted by type. */
  public Map<String, StageFactory> all() {
    return byType;
  }

  @Override
  public String toString() {
    return "StageTypes" + byType.keySet();
  }
}
