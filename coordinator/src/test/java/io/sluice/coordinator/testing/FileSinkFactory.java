package io.sluice.coordinator.testing;

import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;

/** Test stage type "file-sink": a sink that needs {@code path}; side output "rejected". */
public final class FileSinkFactory implements StageFactory {
  @Override
  public String type() {
    return "file-sink";
  }

  @Override
  public Role role() {
    return Role.SINK;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    config.path("path");
    return TestFactories.definition("rejected");
  }
}
