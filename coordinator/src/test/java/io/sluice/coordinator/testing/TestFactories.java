package io.sluice.coordinator.testing;

import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Shared bits of the test-only stage factories. */
final class TestFactories {
  private TestFactories() {}

  /** An operator that drops everything: these tests never run operators, only define them. */
  static Supplier<Operator<byte[], byte[], byte[], byte[]>> noop() {
    return () -> record -> { };
  }

  static StageDefinition<byte[], byte[], byte[], byte[]> definition(String... sideOutputs) {
    List<OutputTag<?, ?>> tags = new ArrayList<>();
    for (String name : sideOutputs) {
      tags.add(new OutputTag<>(name, Serdes.bytes(), Serdes.bytes()));
    }
    return new StageDefinition<>(
        Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), noop(), tags);
  }
}
