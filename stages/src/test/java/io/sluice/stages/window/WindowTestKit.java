package io.sluice.stages.window;

import static io.sluice.stages.StageConfigs.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.testkit.OperatorTestDriver;
import java.util.List;

/** Drives a {@code window} stage in tests: raw events in, results as compact strings out. */
final class WindowTestKit {
  /** The stage name every test uses; result ids start with it. */
  static final String STAGE = "per-minute";

  private WindowTestKit() {}

  /**
   * A driver for a window stage with these settings (relaxed JSON). The input value type differs by
   * aggregate (bytes for count, JSON otherwise), so tests only pipe raw events.
   */
  static OperatorTestDriver<String, Object, String, JsonNode> window(String settings) {
    return OperatorTestDriver.forStage(new WindowStageFactory(), config(STAGE, settings));
  }

  static void send(OperatorTestDriver<String, Object, String, JsonNode> driver, String id, String key, long time, String payload) {
    driver.pipeRawInput(
        Event.newBuilder()
            .setId(id)
            .setKey(ByteString.copyFromUtf8(key))
            .setEventTime(time)
            .setPayload(ByteString.copyFromUtf8(payload))
            .build());
  }

  /** Each result as {@code key@timestamp id payload}. */
  static List<String> results(OperatorTestDriver<String, Object, String, JsonNode> driver) {
    return driver.readOutputs().stream().map(WindowTestKit::describe).toList();
  }

  static String describe(Record<String, JsonNode> r) {
    return r.key() + "@" + r.timestamp() + " " + r.id() + " " + r.value();
  }

  /** The ids of the events on the late side output. */
  static List<String> lateIds(OperatorTestDriver<String, Object, String, JsonNode> driver) {
    return driver.readSideOutputEvents(WindowOperator.LATE_OUTPUT).stream().map(Event::getId).toList();
  }
}
