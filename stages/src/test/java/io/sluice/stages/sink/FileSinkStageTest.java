package io.sluice.stages.sink;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import io.sluice.stages.filter.FilterStageFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FileSinkStageTest {
  @TempDir Path dir;

  private OperatorTestDriver<String, byte[], byte[], byte[]> sink(String settings, int instance) {
    return OperatorTestDriver.forStage(new FileSinkStageFactory(), config("out", settings, dir), instance);
  }

  /** A real dead letter: what a filter stage does with a payload that is not JSON. */
  private static DeadLetter deadLetterFromAFilter() {
    OperatorTestDriver<String, JsonNode, String, JsonNode> filter =
        OperatorTestDriver.forStage(new FilterStageFactory(), config("buys", "{where: {field: '$.a', exists: true}}"));
    try (filter) {
      filter.pipeRawInput(
          Event.newBuilder()
              .setId("e2")
              .setKey(ByteString.copyFromUtf8("user-8"))
              .setEventTime(1_767_225_600_001L)
              .setPayload(ByteString.copyFromUtf8("{\"a\": "))
              .build());
      return filter.readDeadLetters().get(0);
    }
  }

  @Test
  void writesOneJsonLinePerEventIncludingDeadLettersAndNonJsonPayloads() throws Exception {
    DeadLetter dead = deadLetterFromAFilter();
    try (var sink = sink("{type: 'file-sink', path: 'out/results.jsonl'}", 0)) {
      sink.pipeInput(new Record<>("e1", "user-7", utf8("{ \"count\": 3 }"), 1_767_225_600_000L, Map.of("h", "v"), null));
      sink.pipeRawInput(dead.toEvent());
      sink.pipeRawInput(utf8("k"), utf8("plain text"), 5);
      assertThat(sink.readDeadLetters()).isEmpty();
      assertThat(sink.isOutputEmpty()).isTrue();
    }
    String reason = dead.reason().replace("\"", "\\\"");
    assertThat(Files.readAllLines(dir.resolve("out/results.jsonl"), StandardCharsets.UTF_8))
        .containsExactly(
            "{\"id\":\"e1\",\"key\":\"user-7\",\"time\":1767225600000,\"payload\":{\"count\":3}}",
            "{\"id\":\"e2\",\"key\":\"user-8\",\"time\":1767225600001,\"payload\":\"{\\\"a\\\": \",\"error\":\"" + reason + "\"}",
            "{\"id\":\"\",\"key\":\"k\",\"time\":5,\"payload\":\"plain text\"}");
    assertThat(dead.reason()).startsWith("malformed JSON payload");
  }

  @Test
  void linesReachTheFileOnTheFlushScheduleAndOnClose() throws Exception {
    Path file = dir.resolve("f.jsonl");
    try (var sink = sink("{path: 'f.jsonl', flush: '50ms'}", 0)) {
      sink.pipeRawInput(utf8("k"), utf8("1"), 1);
      assertThat(Files.readString(file)).isEmpty(); // created, still buffered
      sink.advanceWallClock(Duration.ofMillis(49));
      assertThat(Files.readString(file)).isEmpty();
      sink.advanceWallClock(Duration.ofMillis(1));
      assertThat(Files.readAllLines(file)).hasSize(1);

      sink.pipeRawInput(utf8("k"), utf8("2"), 2);
      assertThat(Files.readAllLines(file)).hasSize(1);
    }
    assertThat(Files.readAllLines(file)).hasSize(2);
  }

  @Test
  void replicasWriteSuffixedFilesBesideThePath() throws Exception {
    var zero = sink("{path: 'out/per-user.jsonl'}", 0);
    var one = sink("{path: 'out/per-user.jsonl'}", 1);
    try (zero; one) {
      zero.pipeRawInput(utf8("a"), utf8("{}"), 1);
      one.pipeRawInput(utf8("b"), utf8("{}"), 2);
    }
    assertThat(Files.readAllLines(dir.resolve("out/per-user.jsonl"))).singleElement().asString().contains("\"key\":\"a\"");
    assertThat(Files.readAllLines(dir.resolve("out/per-user-1.jsonl"))).singleElement().asString().contains("\"key\":\"b\"");
  }

  @Test
  void replicaPathNaming() {
    assertThat(FileSinkStageFactory.replicaPath(Path.of("out/per-user.jsonl"), 0)).isEqualTo(Path.of("out/per-user.jsonl"));
    assertThat(FileSinkStageFactory.replicaPath(Path.of("out/per-user.jsonl"), 3)).isEqualTo(Path.of("out/per-user-3.jsonl"));
    assertThat(FileSinkStageFactory.replicaPath(Path.of("out/results"), 1)).isEqualTo(Path.of("out/results-1"));
    assertThat(FileSinkStageFactory.replicaPath(Path.of(".events"), 1)).isEqualTo(Path.of(".events-1"));
    assertThat(FileSinkStageFactory.replicaPath(Path.of("a.tar.gz"), 1)).isEqualTo(Path.of("a.tar-1.gz"));
  }

  @Test
  void appendKeepsOldLinesAndTheDefaultReplacesThem() throws Exception {
    Path file = dir.resolve("f.jsonl");
    Files.writeString(file, "old\n");
    try (var sink = sink("{path: 'f.jsonl', append: true}", 0)) {
      sink.pipeRawInput(utf8("k"), utf8("1"), 1);
    }
    assertThat(Files.readAllLines(file)).hasSize(2).first().isEqualTo("old");
    try (var sink = sink("{path: 'f.jsonl'}", 0)) {
      sink.pipeRawInput(utf8("k"), utf8("2"), 2);
    }
    assertThat(Files.readAllLines(file)).containsExactly("{\"id\":\"\",\"key\":\"k\",\"time\":2,\"payload\":2}");
  }

  @Test
  void twoOperatorsCannotWriteOneFileInOneProcess() {
    try (var first = sink("{path: 'f.jsonl'}", 0)) {
      assertThatThrownBy(() -> sink("{path: 'f.jsonl'}", 0))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already being written");
      first.pipeRawInput(utf8("k"), utf8("1"), 1);
    }
    // Closing releases the file.
    sink("{path: 'f.jsonl'}", 0).close();
  }

  @Test
  void isASink() {
    assertThat(new FileSinkStageFactory().role()).isEqualTo(StageFactory.Role.SINK);
    assertThat(new StdoutSinkStageFactory().role()).isEqualTo(StageFactory.Role.SINK);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '`',
      value = {
        "{type: 'file-sink'}                | path   | 'path' is required",
        "{path: '.'}                        | path   | is the folder",
        "{path: 'f.jsonl', flush: 0}        | flush  | at least 1ms",
        "{path: 'f.jsonl', flush: 'often'}  | flush  | is not a duration",
        "{path: 'f.jsonl', append: 'yes'}   | append | true or false",
      })
  void badSettingsAreRejectedNamingTheKey(String settings, String key, String messagePart) {
    assertThatThrownBy(() -> new FileSinkStageFactory().create(config("out", settings, dir)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(messagePart)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(key));
  }

  @Test
  void writesNothingAndCreatesNothingAtValidation() {
    new FileSinkStageFactory().create(config("out", "{path: 'later/f.jsonl'}", dir));
    assertThat(dir.resolve("later")).doesNotExist();
    assertThat(List.of(dir.toFile().list())).isEmpty();
  }
}
