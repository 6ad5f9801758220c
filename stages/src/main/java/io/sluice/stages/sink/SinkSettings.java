package io.sluice.stages.sink;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.time.Duration;

/** Settings the sinks share. */
final class SinkSettings {
  /** How often buffered lines are flushed unless {@code flush:} says otherwise. */
  static final Duration DEFAULT_FLUSH = Duration.ofMillis(100);

  private SinkSettings() {}

  static Duration flushInterval(StageConfig config) {
    Duration flush = config.duration("flush", DEFAULT_FLUSH);
    if (flush.toMillis() < 1) {
      throw new ConfigException("flush", "'flush' must be at least 1ms, got " + config.node("flush").orElseThrow());
    }
    return flush;
  }
}
