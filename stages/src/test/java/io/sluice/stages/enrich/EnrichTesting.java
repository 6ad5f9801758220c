package io.sluice.stages.enrich;

import static io.sluice.stages.StageConfigs.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.List;

/** Helpers shared by the enrich tests. */
final class EnrichTesting {
  private EnrichTesting() {}

  /** A driver and the operator it runs, so a test can ask the operator what the runtime asks. */
  record Harness(OperatorTestDriver<byte[], byte[], byte[], JsonNode> driver, EnrichOperator operator) {}

  static Harness enrich(String settings) {
    StageDefinition<byte[], byte[], byte[], JsonNode> def =
        new EnrichStageFactory().create(config("enriched", settings));
    EnrichOperator op = (EnrichOperator) def.operator().get();
    var driver = new OperatorTestDriver<>(
        new StageDefinition<>(def.keyIn(), def.valueIn(), def.keyOut(), def.valueOut(), () -> op, def.sideOutputs()),
        "enriched");
    return new Harness(driver, op);
  }

  /** Event {@code n}: id "e-n", key "k-n", time {@code time}, payload {"n": n, "user": "u-n"} plus {@code extra}. */
  static Event event(int n, long time, String extra) {
    String payload = "{\"n\":" + n + ",\"user\":\"u-" + n + "\"" + (extra.isEmpty() ? "" : "," + extra) + "}";
    return Event.newBuilder()
        .setId("e-" + n)
        .setKey(ByteString.copyFromUtf8("k-" + n))
        .setEventTime(time)
        .setPayload(ByteString.copyFromUtf8(payload))
        .build();
  }

  static Event event(int n) {
    return event(n, 1_000L + n, "");
  }

  static List<Integer> ns(List<Record<byte[], JsonNode>> outputs) {
    return outputs.stream().map(r -> r.value().get("n").asInt()).toList();
  }

  static List<Integer> deadNs(List<DeadLetter> letters) {
    return letters.stream().map(l -> Integer.parseInt(l.input().getId().substring(2))).toList();
  }
}
