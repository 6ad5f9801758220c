package io.sluice.stages.window;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.ConfigException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;

/**
 * A user's {@link AggregateFunction} named by {@code aggregate: {java: com.acme.MyAggregate}}:
 * loaded and checked once, when the stage is created, and instantiated once per operator (an
 * aggregate may keep configuration in fields, never state shared by windows). Immutable and
 * thread-safe.
 */
final class JavaAggregate {
  private final Constructor<?> constructor;

  private JavaAggregate(Constructor<?> constructor) {
    this.constructor = constructor;
  }

  /**
   * Loads {@code className} with the thread's context class loader, then the stage's own, and
   * checks it: a concrete public class implementing {@code AggregateFunction<JsonNode, A, R>} with
   * a public no-argument constructor that works, and a usable {@code name()}.
   *
   * @param key the setting's key, for errors
   * @throws ConfigException naming {@code key} when any of that fails
   */
  static JavaAggregate load(String className, String key) {
    Class<?> type = find(className, key);
    if (!AggregateFunction.class.isAssignableFrom(type)) {
      throw new ConfigException(key, className + " does not implement " + AggregateFunction.class.getName());
    }
    if (type.isInterface() || Modifier.isAbstract(type.getModifiers())) {
      throw new ConfigException(key, className + " is abstract or an interface; name a concrete class");
    }
    Type input = inputType(type);
    if (input instanceof Class<?> c && !c.isAssignableFrom(JsonNode.class)) {
      throw new ConfigException(
          key,
          className + " aggregates " + c.getName() + " values, but the window stage hands it each payload as a "
              + JsonNode.class.getName() + "; implement AggregateFunction<JsonNode, A, R>");
    }
    Constructor<?> constructor;
    try {
      constructor = type.getConstructor();
    } catch (NoSuchMethodException e) {
      throw new ConfigException(key, className + " needs a public no-argument constructor (and must be a public class)");
    }
    JavaAggregate aggregate = new JavaAggregate(constructor);
    AggregateFunction<JsonNode, ?, ?> probe = aggregate.instantiate(key);
    String name;
    try {
      name = probe.name();
    } catch (RuntimeException e) {
      throw new ConfigException(key, className + ".name() failed: " + e);
    }
    try {
      WindowOperator.checkResultName(name);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, className + ": " + e.getMessage());
    }
    return aggregate;
  }

  /** A new instance; the class was checked by {@link #load}. */
  AggregateFunction<JsonNode, ?, ?> newInstance() {
    return instantiate("aggregate.java");
  }

  // Checked in load(): the class implements AggregateFunction and takes JsonNode values (or does
  // not say, being generic itself).
  @SuppressWarnings("unchecked")
  private AggregateFunction<JsonNode, ?, ?> instantiate(String key) {
    String className = constructor.getDeclaringClass().getName();
    try {
      return (AggregateFunction<JsonNode, ?, ?>) constructor.newInstance();
    } catch (IllegalAccessException e) {
      throw new ConfigException(key, className + " must be a public class with a public no-argument constructor");
    } catch (InstantiationException e) {
      throw new ConfigException(key, className + " cannot be instantiated: " + e.getMessage());
    } catch (InvocationTargetException e) {
      throw new ConfigException(key, "the constructor of " + className + " failed: " + e.getCause());
    }
  }

  private static Class<?> find(String className, String key) {
    // The context loader sees user jars added by a launcher; the stage's own loader is the fallback.
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    ClassLoader own = JavaAggregate.class.getClassLoader();
    for (ClassLoader loader : new ClassLoader[] {context, own}) {
      if (loader == null) {
        continue;
      }
      try {
        return Class.forName(className, true, loader);
      } catch (ClassNotFoundException | NoClassDefFoundError e) {
        // try the next loader
      } catch (ExceptionInInitializerError e) {
        throw new ConfigException(key, "class " + className + " failed to initialise: " + e.getCause());
      }
    }
    throw new ConfigException(key, "class " + className + " is not on the classpath (add its jar, and check the spelling)");
  }

  /**
   * The value type {@code V} the class declares for {@code AggregateFunction<V, A, R>}, where it
   * names it directly on itself or a superclass; null when it does not say (a type variable, or an
   * interface in between).
   */
  private static Type inputType(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Type t : c.getGenericInterfaces()) {
        if (t instanceof ParameterizedType p && p.getRawType() == AggregateFunction.class) {
          return p.getActualTypeArguments()[0];
        }
      }
    }
    return null;
  }
}
