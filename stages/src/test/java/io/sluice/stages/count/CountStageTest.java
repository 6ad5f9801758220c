package io.sluice.stages.count;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CountStageTest {
  @Test
  void countsPerKeyKeepingKeyIdTimeAndAttributes() {
    OperatorTestDriver<String, byte[], String, JsonNode> driver =
        OperatorTestDriver.forStage(new CountStageFactory(), config("per-user", "{type: 'count'}"));
    try (driver) {
      driver.pipeInput(new Record<>("e1", "alice", utf8("{}"), 10, Map.of("h", "1"), null));
      driver.pipeRawInput(utf8("bob"), utf8("not even json"), 11);
      driver.pipeRawInput(utf8("alice"), utf8("{\"x\": 1}"), 12);
      driver.pipeRawInput(utf8("alice"), new byte[0], 13);

      List<Record<String, JsonNode>> out = driver.readOutputs();
      assertThat(out).extracting(Record::key).containsExactly("alice", "bob", "alice", "alice");
      assertThat(out).extracting(r -> r.value().toString())
          .containsExactly("{\"count\":1}", "{\"count\":1}", "{\"count\":2}", "{\"count\":3}");
      assertThat(out).extracting(Record::timestamp).containsExactly(10L, 11L, 12L, 13L);
      assertThat(out.get(0).id()).isEqualTo("e1");
      assertThat(out.get(0).attributes()).containsEntry("h", "1");
      assertThat(driver.readDeadLetters()).isEmpty();
    }
  }

  @Test
  void eachInstanceCountsOnItsOwn() {
    OperatorTestDriver<String, byte[], String, JsonNode> a = OperatorTestDriver.forStage(new CountStageFactory(), config("c", "{}"), 0);
    OperatorTestDriver<String, byte[], String, JsonNode> b = OperatorTestDriver.forStage(new CountStageFactory(), config("c", "{}"), 1);
    try (a; b) {
      a.pipeRawInput(utf8("k"), utf8("{}"), 1);
      a.pipeRawInput(utf8("k"), utf8("{}"), 2);
      b.pipeRawInput(utf8("k"), utf8("{}"), 3);
      assertThat(a.readOutputEvents()).extracting(e -> e.getPayload().toStringUtf8())
          .containsExactly("{\"count\":1}", "{\"count\":2}");
      assertThat(b.readOutputEvents()).extracting(e -> e.getPayload().toStringUtf8()).containsExactly("{\"count\":1}");
    }
  }

  @Test
  void isStateful() {
    assertThat(new CountStageFactory().stateful()).isTrue();
  }
}
