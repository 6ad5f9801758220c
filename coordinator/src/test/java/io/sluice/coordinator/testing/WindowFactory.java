package io.sluice.coordinator.testing;

import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;

/**
 * Test stage type "window": keeps keyed state, has a "late" side output, needs {@code
 * window.tumbling} as a duration.
 */
public final class WindowFactory implements StageFactory {
  @Override
  public String type() {
    return "window";
  }

  @Override
  public boolean stateful() {
    return true;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    config.duration("window.tumbling");
    return TestFactories.definition("late");
  }
}
