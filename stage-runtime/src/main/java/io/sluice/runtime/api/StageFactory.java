package io.sluice.runtime.api;

/**
 * Makes the stages of one {@code type:} of the pipeline spec. Found with {@link
 * java.util.ServiceLoader} (list implementations in {@code
 * META-INF/services/io.sluice.runtime.api.StageFactory}). Implementations are stateless and
 * thread-safe.
 *
 * <p>The coordinator calls {@link #create} while it validates a spec, before anything starts, so a
 * factory should check every setting there and throw {@link ConfigException} naming the key.
 */
public interface StageFactory {
  /** The {@code type:} value this factory serves, e.g. "filter". */
  String type();

  /**
   * The stage's definition for the given settings.
   *
   * @throws ConfigException when a setting is missing or wrong
   */
  StageDefinition<?, ?, ?, ?> create(StageConfig config);

  /** What kind of stage it is: sources take no {@code from:}; sinks may not be read from. */
  default Role role() {
    return Role.OPERATOR;
  }

  /** Whether the stage keeps keyed state (its replicas own key groups). */
  default boolean stateful() {
    return false;
  }

  /** The place of a stage type in a graph. */
  enum Role {
    SOURCE,
    OPERATOR,
    SINK
  }
}
