package io.sluice.stages;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;

/**
 * {@code type: java}: a user's operator, given by the class of its {@link StageFactory}:
 *
 * <pre>
 * - name: enrich
 *   type: java
 *   from: in
 *   class: com.acme.EnrichFactory     # on the classpath; public, with a public no-arg constructor
 *   # ...any settings EnrichFactory reads from the same StageConfig
 * </pre>
 *
 * <p>The named factory receives the stage's whole {@link StageConfig} and its definition is used
 * as is. The class must be on the classpath of every process that validates or runs the spec (the
 * coordinator validates it too). A user factory that has a {@code type} of its own can instead be
 * listed in {@code META-INF/services/io.sluice.runtime.api.StageFactory} and used by that type.
 *
 * <p>A {@code java} stage counts as an operator that keeps keyed state ({@link #stateful()} is
 * true): the type cannot know what the user's class does, and routing by key is the choice that is
 * correct for both stateless and keyed operators. Source factories are rejected: a source needs a
 * type of its own.
 *
 * <p>Stateless and thread-safe.
 */
public final class JavaStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "java";

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
    StageFactory delegate = load(config.string("class"));
    if (delegate.role() == Role.SOURCE) {
      throw new ConfigException(
          "class",
          delegate.getClass().getName()
              + " makes a source, which a java stage cannot be; register it under a type of its own in"
              + " META-INF/services/io.sluice.runtime.api.StageFactory");
    }
    StageDefinition<?, ?, ?, ?> definition = delegate.create(config);
    if (definition == null) {
      throw new ConfigException("class", delegate.getClass().getName() + ".create(...) returned null");
    }
    return definition;
  }

  private static StageFactory load(String className) {
    Class<?> type;
    try {
      type = Class.forName(className, true, classLoader());
    } catch (ClassNotFoundException | NoClassDefFoundError e) {
      throw new ConfigException(
          "class", "class " + className + " is not on the classpath (add its jar, and check the spelling)");
    } catch (ExceptionInInitializerError e) {
      throw new ConfigException(
          "class", "class " + className + " failed to initialise: " + e.getCause());
    }
    if (!StageFactory.class.isAssignableFrom(type)) {
      throw new ConfigException(
          "class", className + " does not implement " + StageFactory.class.getName());
    }
    if (type == JavaStageFactory.class) {
      // It would read its own `class:` again, forever.
      throw new ConfigException("class", "a java stage cannot name " + className + " itself");
    }
    if (Modifier.isAbstract(type.getModifiers())) {
      throw new ConfigException("class", className + " is abstract or an interface; name a concrete class");
    }
    try {
      return (StageFactory) type.getConstructor().newInstance();
    } catch (NoSuchMethodException | IllegalAccessException e) {
      throw new ConfigException(
          "class", className + " needs a public no-argument constructor (and must be a public class)");
    } catch (InstantiationException e) {
      throw new ConfigException("class", className + " cannot be instantiated: " + e.getMessage());
    } catch (InvocationTargetException e) {
      throw new ConfigException("class", "the constructor of " + className + " failed: " + e.getCause());
    }
  }

  private static ClassLoader classLoader() {
    // The context loader sees user jars added by an application server or a plugin launcher; fall
    // back to ours when there is none.
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return context != null ? context : JavaStageFactory.class.getClassLoader();
  }
}
