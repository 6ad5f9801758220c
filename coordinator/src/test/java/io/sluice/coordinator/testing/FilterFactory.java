package io.sluice.coordinator.testing;

import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;

/** Test stage type "filter": stateless; {@code where.field}, when given, must be a JSON path. */
public final class FilterFactory implements StageFactory {
  @Override
  public String type() {
    return "filter";
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    if (config.has("where")) {
      config.jsonPath("where.field");
    }
    return TestFactories.definition();
  }
}
