package io.sluice.coordinator.testing;

import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.SpecException;
import io.sluice.coordinator.spec.SpecLoader;
import io.sluice.coordinator.spec.StageTypes;
import java.nio.file.Path;

/** Parses test specs with the test stage types. */
public final class Specs {
  private Specs() {}

  public static PipelineSpec parse(String yaml) {
    try {
      return new SpecLoader(StageTypes.load()).read(yaml, Path.of("/tmp/sluice-test"), "test.yaml");
    } catch (SpecException e) {
      throw new AssertionError("test spec is invalid:\n" + e.getMessage(), e);
    }
  }
}
