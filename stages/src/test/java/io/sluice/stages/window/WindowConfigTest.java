package io.sluice.stages.window;

import static io.sluice.stages.StageConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WindowConfigTest {
  private static final String OK_WINDOW = "window: {tumbling: '1m'}";

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        // window
        "{aggregate: 'count'}                                    | window                 | 'window' is required",
        "{window: '1m', aggregate: 'count'}                      | window                 | 'window' must be one of",
        "{window: {}, aggregate: 'count'}                        | window                 | 'window' must be one of",
        "{window: {hopping: '1m'}, aggregate: 'count'}           | window.hopping         | unknown window kind 'hopping' in 'window'; use one of [tumbling, sliding, session]",
        "{window: {tumbling: '1m', session: {gap: '1s'}}, aggregate: 'count'} | window   | 'window' has tumbling and session; give exactly one kind of window",
        "{window: {tumbling: '0s'}, aggregate: 'count'}          | window.tumbling        | window.tumbling must be positive, got 0s",
        "{window: {tumbling: -5000}, aggregate: 'count'}         | window.tumbling        | window.tumbling must be positive, got -5s",
        "{window: {tumbling: 'soon'}, aggregate: 'count'}        | window.tumbling        | 'window.tumbling' is not a duration",
        "{window: {tumbling: {size: '1m'}}, aggregate: 'count'}  | window.tumbling        | 'window.tumbling' is not a duration",
        "{window: {sliding: '10s'}, aggregate: 'count'}          | window.sliding         | 'window.sliding' must be {size: 10s, slide: 5s}",
        "{window: {sliding: {size: '10s', slide: '0s'}}, aggregate: 'count'} | window.sliding.slide | window.sliding.slide must be positive, got 0s",
        "{window: {sliding: {size: '0s', slide: '1s'}}, aggregate: 'count'}  | window.sliding.size  | window.sliding.size must be positive, got 0s",
        "{window: {sliding: {size: '10s'}}, aggregate: 'count'}  | window.sliding.slide   | 'window.sliding.slide' is required",
        "{window: {sliding: {size: '10s', slide: '15s'}}, aggregate: 'count'} | window.sliding.slide | window.sliding.slide must not exceed window.sliding.size (10s), got 15s",
        "{window: {sliding: {size: '1d', slide: '1ms'}}, aggregate: 'count'}  | window.sliding.slide | puts every event in 86400000 windows",
        "{window: {sliding: {size: '10s', slid: '5s'}}, aggregate: 'count'}   | window.sliding.slid  | unknown setting 'slid' in 'window.sliding'; use [size, slide]",
        "{window: {session: {gap: '0s'}}, aggregate: 'count'}    | window.session.gap     | window.session.gap must be positive, got 0s",
        "{window: {session: '30s'}, aggregate: 'count'}          | window.session         | 'window.session' must be {gap: 30s}",
        "{window: {session: {}}, aggregate: 'count'}             | window.session.gap     | 'window.session.gap' is required",
        // aggregate
        "{window: {tumbling: '1m'}}                              | aggregate              | 'aggregate' is required",
        "{window: {tumbling: '1m'}, aggregate: 'median'}         | aggregate              | unknown aggregate 'median'",
        "{window: {tumbling: '1m'}, aggregate: 'sum'}            | aggregate              | aggregate sum needs a field, e.g. aggregate: {sum: $.price}",
        "{window: {tumbling: '1m'}, aggregate: ['count']}        | aggregate              | 'aggregate' must be count,",
        "{window: {tumbling: '1m'}, aggregate: {sum: '$.a', max: '$.b'}} | aggregate      | (exactly one)",
        "{window: {tumbling: '1m'}, aggregate: {median: '$.a'}}  | aggregate.median       | unknown aggregate 'median'",
        "{window: {tumbling: '1m'}, aggregate: {sum: 'price'}}   | aggregate.sum          | 'aggregate.sum' is not a JSON path",
        "{window: {tumbling: '1m'}, aggregate: {avg: '$.a['}}    | aggregate.avg          | 'aggregate.avg' is not a JSON path",
        "{window: {tumbling: '1m'}, aggregate: {count: '$.a'}}   | aggregate.count        | count reads no field; write aggregate: count",
        // allowedLateness
        "{window: {tumbling: '1m'}, aggregate: 'count', allowedLateness: -5000}    | allowedLateness | allowedLateness must not be negative, got -5s",
        "{window: {tumbling: '1m'}, aggregate: 'count', allowedLateness: 'a while'} | allowedLateness | 'allowedLateness' is not a duration",
        // earlyFiring
        "{window: {tumbling: '1m'}, aggregate: 'count', earlyFiring: 5}            | earlyFiring          | 'earlyFiring' must be {count: N} or {interval: 5s}",
        "{window: {tumbling: '1m'}, aggregate: 'count', earlyFiring: {count: 0}}   | earlyFiring.count    | earlyFiring.count must be a positive whole number, got 0",
        "{window: {tumbling: '1m'}, aggregate: 'count', earlyFiring: {count: 2.5}} | earlyFiring.count    | earlyFiring.count must be a positive whole number, got 2.5",
        "{window: {tumbling: '1m'}, aggregate: 'count', earlyFiring: {interval: '0s'}} | earlyFiring.interval | earlyFiring.interval must be positive, got 0s",
        "{window: {tumbling: '1m'}, aggregate: 'count', earlyFiring: {count: 5, interval: '1s'}} | earlyFiring | (one of them)",
        "{window: {tumbling: '1m'}, aggregate: 'count', earlyFiring: {every: 5}}   | earlyFiring.every    | unknown early firing 'every'",
      })
  void rejectsBadSettingsNamingTheKey(String settings, String key, String messagePart) {
    assertThatThrownBy(() -> new WindowStageFactory().create(config("w", settings)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo(key))
        .hasMessageContaining(messagePart);
  }

  @Test
  void acceptsEveryDocumentedForm() {
    String[] good = {
      "{window: {tumbling: '1m'}, aggregate: 'count'}",
      "{window: {tumbling: 60000}, aggregate: {sum: '$.price'}, allowedLateness: '5s'}",
      "{window: {sliding: {size: '10s', slide: '5s'}}, aggregate: {min: '$.f'}, earlyFiring: {count: 100}}",
      "{window: {sliding: {size: '10s', slide: '10s'}}, aggregate: {max: '$.items[0].f'}}",
      "{window: {session: {gap: '30s'}}, aggregate: {avg: '$.f'}, earlyFiring: {interval: '5s'}}",
      "{window: {session: {gap: '30s'}}, aggregate: {distinct: '$.user.id'}, allowedLateness: 0}",
      "{window: {tumbling: '1h'}, aggregate: {java: '" + JavaAggregatesTest.Spread.class.getName() + "'}}",
    };
    for (String settings : good) {
      assertThat(new WindowStageFactory().create(config("w", settings)).sideOutputs()).hasSize(1);
    }
  }

  /** Aggregates the wrong type of value. */
  public static final class OfStrings implements AggregateFunction<String, StringBuilder, String> {
    @Override
    public StringBuilder createAccumulator() {
      return new StringBuilder();
    }

    @Override
    public StringBuilder add(String value, StringBuilder acc) {
      return acc.append(value);
    }

    @Override
    public StringBuilder merge(StringBuilder a, StringBuilder b) {
      return a.append(b);
    }

    @Override
    public String result(StringBuilder acc) {
      return acc.toString();
    }
  }

  /** Has no no-argument constructor. */
  public static final class NeedsArgument extends Counting {
    public NeedsArgument(int unused) {}
  }

  /** Names its result like a field the window output has. */
  public static final class ReservedName extends Counting {
    @Override
    public String name() {
      return "timing";
    }
  }

  /** Fails in its constructor. */
  public static final class Broken extends Counting {
    public Broken() {
      throw new IllegalStateException("no licence key");
    }
  }

  /** A counting aggregate for the cases above to build on; abstract, so not usable itself. */
  public abstract static class Counting implements AggregateFunction<JsonNode, long[], Long> {
    @Override
    public long[] createAccumulator() {
      return new long[1];
    }

    @Override
    public long[] add(JsonNode value, long[] acc) {
      acc[0]++;
      return acc;
    }

    @Override
    public long[] merge(long[] a, long[] b) {
      a[0] += b[0];
      return a;
    }

    @Override
    public Long result(long[] acc) {
      return acc[0];
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "com.acme.Missing                                       | class com.acme.Missing is not on the classpath",
        "java.lang.String                                       | java.lang.String does not implement io.sluice.runtime.api.AggregateFunction",
        "io.sluice.runtime.api.AggregateFunction                | is abstract or an interface",
        "io.sluice.stages.window.WindowConfigTest$Counting      | is abstract or an interface",
        "io.sluice.stages.window.WindowConfigTest$OfStrings     | aggregates java.lang.String values, but the window stage hands it each payload as a com.fasterxml.jackson.databind.JsonNode",
        "io.sluice.stages.window.WindowConfigTest$NeedsArgument | needs a public no-argument constructor",
        "io.sluice.stages.window.WindowConfigTest$ReservedName  | the aggregate's name() is 'timing', which the window output uses itself",
        "io.sluice.stages.window.WindowConfigTest$Broken        | the constructor of io.sluice.stages.window.WindowConfigTest$Broken failed: java.lang.IllegalStateException: no licence key",
      })
  void rejectsJavaAggregatesItCannotUse(String className, String messagePart) {
    assertThatThrownBy(
            () -> new WindowStageFactory()
                .create(config("w", "{" + OK_WINDOW + ", aggregate: {java: '" + className + "'}}")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo("aggregate.java"))
        .hasMessageContaining(messagePart);
  }
}
