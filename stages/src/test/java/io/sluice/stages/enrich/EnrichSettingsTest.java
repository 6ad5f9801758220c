package io.sluice.stages.enrich;

import static io.sluice.stages.StageConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.runtime.api.ConfigException;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EnrichSettingsTest {
  private static EnrichSettings parse(String settings) {
    return EnrichSettings.parse(config("enriched", settings));
  }

  @Test
  void defaults() {
    EnrichSettings s = parse("{http: {url: 'http://localhost:7100/enrich'}}");
    assertThat(s.endpoint()).isEqualTo(new EnrichSettings.Http(URI.create("http://localhost:7100/enrich"), Duration.ofSeconds(2)));
    assertThat(s.concurrency()).isEqualTo(16);
    assertThat(s.ordered()).isTrue();
    assertThat(s.batch()).isEqualTo(1);
    assertThat(s.maxAge()).isEqualTo(Duration.ofSeconds(30));
    assertThat(s.retry()).isEqualTo(new RetryPolicy(Duration.ofMillis(50), Duration.ofSeconds(2), 2.0, 0.5));
    assertThat(s.into()).isEqualTo("enrichment");
    assertThat(s.capacity()).isEqualTo(16);
  }

  @Test
  void everySetting() {
    EnrichSettings s = parse("{grpc: {target: 'fn.local:7101', timeout: '750ms'}, concurrency: 3, ordered: false,"
        + " batch: 10, maxAge: '1m', retry: {initial: '10ms', max: '1s', multiplier: 1.5, jitter: 1}, into: 'geo'}");
    assertThat(s.endpoint()).isEqualTo(new EnrichSettings.Grpc("fn.local:7101", Duration.ofMillis(750)));
    assertThat(s.endpoint().describe()).isEqualTo("FunctionService at fn.local:7101");
    assertThat(s).isEqualTo(new EnrichSettings(s.endpoint(), 3, false, 10, Duration.ofMinutes(1),
        new RetryPolicy(Duration.ofMillis(10), Duration.ofSeconds(1), 1.5, 1.0), "geo"));
    assertThat(s.capacity()).isEqualTo(30);
  }

  @Test
  void aBatchMappingIsTheRuntimesOutputBatchingAndLeavesCallsPerEvent() {
    // `batch: {maxEvents, maxBytes, linger}` is a setting every stage has (output batches).
    assertThat(parse("{http: {url: 'http://h/e'}, batch: {maxEvents: 512}}").batch()).isEqualTo(1);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "{}                                                         | http              | 'http' or 'grpc' is required",
        "{http: {url: 'http://h/e'}, grpc: {target: 'h:1'}}         | grpc              | either 'http' or 'grpc', not both",
        "{http: 'http://h/e'}                                       | http              | 'http' must be a mapping",
        "{http: {timeout: '1s'}}                                    | http.url          | 'http.url' is required",
        "{http: {url: 'ftp://h/e'}}                                 | http.url          | must be an http:// or https:// URL",
        "{http: {url: 'http://'}}                                   | http.url          | 'http.url'",
        "{http: {url: 'http://h/e', timout: '1s'}}                  | http.timout       | unknown setting 'http.timout'",
        "{http: {url: 'http://h/e', timeout: 0}}                    | http.timeout      | 'http.timeout' must be at least 1ms",
        "{http: {url: 'http://h/e', timeout: 'fast'}}               | http.timeout      | 'http.timeout' is not a duration",
        "{grpc: {target: ' '}}                                      | grpc.target       | 'grpc.target' must be a gRPC target",
        "{grpc: {}}                                                 | grpc.target       | 'grpc.target' is required",
        "{http: {url: 'http://h/e'}, concurrency: 0}                | concurrency       | 'concurrency' must be between 1 and 10000",
        "{http: {url: 'http://h/e'}, concurrency: 'many'}           | concurrency       | 'concurrency' must be a whole number",
        "{http: {url: 'http://h/e'}, ordered: 'yes'}                | ordered           | 'ordered' must be true or false",
        "{http: {url: 'http://h/e'}, batch: 0}                      | batch             | 'batch' (events per call) must be between 1 and 10000",
        "{http: {url: 'http://h/e'}, batch: 'x'}                    | batch             | 'batch' must be a whole number",
        "{http: {url: 'http://h/e'}, maxAge: 0}                     | maxAge            | 'maxAge' must be at least 1ms",
        "{http: {url: 'http://h/e'}, retry: '1s'}                   | retry             | 'retry' must be a mapping",
        "{http: {url: 'http://h/e'}, retry: {base: '1s'}}           | retry.base        | unknown setting 'retry.base'",
        "{http: {url: 'http://h/e'}, retry: {initial: '1s', max: '10ms'}} | retry.max   | 'retry.max' (10 ms) must not be below 'retry.initial' (1 s)",
        "{http: {url: 'http://h/e'}, retry: {multiplier: 0.5}}      | retry.multiplier  | 'retry.multiplier' must be a number of at least 1.0",
        "{http: {url: 'http://h/e'}, retry: {jitter: 1.5}}          | retry.jitter      | 'retry.jitter' must be between 0 and 1",
        "{http: {url: 'http://h/e'}, into: ''}                      | into              | 'into' must name a payload field",
      })
  void badSettingsAreRejectedNamingTheKey(String settings, String key, String message) {
    assertThatThrownBy(() -> new EnrichStageFactory().create(config("enriched", settings)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(message)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key));
  }

  @Test
  void isANonKeyedOperatorStage() {
    var factory = new EnrichStageFactory();
    assertThat(factory.type()).isEqualTo("enrich");
    assertThat(factory.stateful()).isFalse();
    assertThat(factory.create(config("enriched", "{http: {url: 'http://h/e'}}")).sideOutputs()).isEmpty();
  }
}
