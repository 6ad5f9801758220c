package io.sluice.coordinator.testing;

import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;

/** Test stage type "count": keeps keyed state. */
public final class CountFactory implements StageFactory {
  @Override
  public String type() {
    return "count";
  }

  @Override
  public boolean stateful() {
    return true;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    return TestFactories.definition();
  }
}
