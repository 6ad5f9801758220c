package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * A stage as read so far, possibly with problems: what {@link StageReader} found, before the
 * graph checks. Confined to the loading thread.
 */
final class StageDraft {
  final int index;
  final List<Object> path;
  final int line;

  /** Null when the stage has no usable name. */
  String name;
  /** Null when the stage has no usable type. */
  String type;
  /** Null when the type is unknown. */
  StageFactory factory;
  /** Null when the factory rejected the settings. */
  StageDefinition<?, ?, ?, ?> definition;
  /** Null when the stage is not a mapping. */
  ObjectNode settings;

  int replicas = 1;
  int port;
  boolean hasFrom;
  final List<InputSpec> inputs = new ArrayList<>();

  StageDraft(int index, int line) {
    this.index = index;
    this.path = List.of("stages", index);
    this.line = line;
  }

  /** What problems call the stage: its name, or "#N" (1-based) when it has none. */
  String label() {
    return name != null ? name : "#" + (index + 1);
  }
}
