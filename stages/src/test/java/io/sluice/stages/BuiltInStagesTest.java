package io.sluice.stages;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BuiltInStagesTest {
  @Test
  void everyBuiltInTypeIsRegisteredAndNoTypeTwice() {
    List<StageFactory> all = ServiceLoader.load(StageFactory.class).stream().map(ServiceLoader.Provider::get).toList();
    // Other modules on the classpath (the runtime's ingest and egress) register types too.
    List<String> ours =
        all.stream()
            .filter(f -> f.getClass().getPackageName().startsWith("io.sluice.stages"))
            .map(StageFactory::type)
            .sorted()
            .toList();
    assertThat(ours).containsExactly(
        "count", "dedup", "enrich", "file-sink", "filter", "java", "map", "passthrough", "stdout-sink", "window");
    assertThat(all.stream().map(StageFactory::type)).doesNotHaveDuplicates();
  }

  @Test
  void passthroughForwardsTheBytesUnchanged() {
    OperatorTestDriver<byte[], byte[], byte[], byte[]> driver =
        OperatorTestDriver.forStage(new PassthroughStageFactory(), config("p", "{}"));
    try (driver) {
      byte[] notJson = {(byte) 0xff, 0, 1};
      driver.pipeRawInput(utf8("k"), notJson, 7);
      Event out = driver.readOutputEvents().get(0);
      assertThat(out.getPayload().toByteArray()).isEqualTo(notJson);
      assertThat(out.getKey().toStringUtf8()).isEqualTo("k");
      assertThat(out.getEventTime()).isEqualTo(7);
    }
  }

  /** A user's factory, as a java stage would name it: it reads its own setting, {@code suffix}. */
  public static final class SuffixFactory implements StageFactory {
    @Override
    public String type() {
      return "suffix";
    }

    @Override
    public StageDefinition<String, String, String, String> create(StageConfig config) {
      String suffix = config.string("suffix");
      return StageDefinition.of(
          Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), () -> new Operator<>() {
            private OperatorContext<String, String> context;

            @Override
            public void init(OperatorContext<String, String> context) {
              this.context = context;
            }

            @Override
            public void process(Record<String, String> record) {
              context.forward(record.withValue(record.value() + suffix));
            }
          });
    }
  }

  /** Not instantiable by the java stage. */
  public static final class NoDefaultConstructor implements StageFactory {
    public NoDefaultConstructor(String unused) {}

    @Override
    public String type() {
      return "x";
    }

    @Override
    public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
      throw new AssertionError("never created");
    }
  }

  /** A source; the java stage refuses it. */
  public static final class ASource implements StageFactory {
    @Override
    public String type() {
      return "src";
    }

    @Override
    public Role role() {
      return Role.SOURCE;
    }

    @Override
    public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
      throw new AssertionError("never created");
    }
  }

  @Test
  void javaDelegatesToTheNamedFactoryWithTheSameSettings() {
    OperatorTestDriver<String, String, String, String> driver =
        OperatorTestDriver.forStage(
            new JavaStageFactory(),
            config("enrich", "{type: 'java', class: 'io.sluice.stages.BuiltInStagesTest$SuffixFactory', suffix: '!'}"));
    try (driver) {
      driver.pipeInput("k", "hi", 1);
      assertThat(driver.readOutput().value()).isEqualTo("hi!");
    }
    assertThat(new JavaStageFactory().stateful()).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "{type: 'java'}                                                   | 'class' is required",
        "{class: 'com.acme.Missing'}                                      | class com.acme.Missing is not on the classpath",
        "{class: 'java.lang.String'}                                      | java.lang.String does not implement io.sluice.runtime.api.StageFactory",
        "{class: 'io.sluice.stages.BuiltInStagesTest$NoDefaultConstructor'} | needs a public no-argument constructor",
        "{class: 'io.sluice.runtime.api.StageFactory'}                    | is abstract or an interface",
        "{class: 'io.sluice.stages.JavaStageFactory'}                     | cannot name io.sluice.stages.JavaStageFactory itself",
        "{class: 'io.sluice.stages.BuiltInStagesTest$ASource'}            | makes a source",
        "{class: 'io.sluice.stages.BuiltInStagesTest$SuffixFactory'}      | 'suffix' is required",
      })
  void javaRejectsClassesItCannotUse(String settings, String messagePart) {
    assertThatThrownBy(() -> new JavaStageFactory().create(config("j", settings)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(messagePart);
  }

  @Test
  void theDelegatesOwnConfigErrorsKeepTheirKey() {
    assertThatThrownBy(() -> new JavaStageFactory().create(config("j", "{class: 'io.sluice.stages.BuiltInStagesTest$SuffixFactory'}")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo("suffix"));
    assertThatThrownBy(() -> new JavaStageFactory().create(config("j", "{class: 'nope.Nope'}")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo("class"));
  }

  @Test
  void aJsonStageCanBeDrivenThroughTheTestKitWithTheRealSerdes() {
    OperatorTestDriver<String, JsonNode, String, JsonNode> driver =
        OperatorTestDriver.forStage(new io.sluice.stages.map.MapStageFactory(), config("m", "{set: {a: 1}}"));
    try (driver) {
      driver.pipeRawInput(utf8("k"), utf8("{}"), 1);
      assertThat(driver.readOutputEvents()).singleElement()
          .satisfies(e -> assertThat(e.getPayload().toStringUtf8()).isEqualTo("{\"a\":1}"))
          .satisfies(e -> assertThat(e.getContentType()).isEqualTo("application/json"));
    }
  }
}
