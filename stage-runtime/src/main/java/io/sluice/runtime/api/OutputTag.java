package io.sluice.runtime.api;

import java.util.Objects;

/**
 * Names a side output of a stage and the serdes of its records. Downstream stages read it with
 * {@code from: {stage: NAME, output: TAG}} in the pipeline spec. Immutable.
 *
 * @param <K> key type
 * @param <V> value type
 */
public record OutputTag<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde) {
  /** The name of the dead-letter side output that every stage has. */
  public static final String DEAD_LETTER = "dead-letter";

  public OutputTag {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(keySerde, "keySerde");
    Objects.requireNonNull(valueSerde, "valueSerde");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("a side output needs a name; \"\" is the main output");
    }
  }
}
