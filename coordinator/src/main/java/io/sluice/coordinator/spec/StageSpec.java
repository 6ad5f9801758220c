package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.StageFactory;
import java.util.List;
import java.util.Objects;

/**
 * One stage of a validated pipeline spec. Immutable: {@link #settings()} hands out copies.
 *
 * @param name the stage's name, unique in the pipeline ({@code [a-z0-9][a-z0-9-]*})
 * @param type the stage type ({@code type:}), served by a {@link StageFactory}
 * @param role the type's place in the graph, from its factory
 * @param stateful whether the type keeps keyed state (its replicas own key groups)
 * @param replicas the number of instances the spec asks for (the initial desired parallelism)
 * @param port the port its instances listen on; 0 = pick a free one
 * @param line the 1-based line where the stage's mapping starts in the spec file
 * @param inputs what the stage reads ({@code from:}); empty for sources
 * @param settings the stage's whole YAML mapping as JSON, as given to {@link
 *     io.sluice.runtime.api.StageConfig} and sent to instances in {@code Registered}
 */
public record StageSpec(
    String name,
    String type,
    StageFactory.Role role,
    boolean stateful,
    int replicas,
    int port,
    int line,
    List<InputSpec> inputs,
    ObjectNode settings) {

  public StageSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(role, "role");
    inputs = List.copyOf(inputs);
    settings = settings.deepCopy();
  }

  /** A copy of the stage's mapping (a copy, so the spec stays immutable). */
  @Override
  public ObjectNode settings() {
    return settings.deepCopy();
  }

  /** The mapping as JSON text, for {@code Registered.stage_config_json}. */
  public String settingsJson() {
    return settings.toString();
  }

  /** The distinct upstream stage names, in {@code from:} order. */
  public List<String> upstreamStages() {
    return inputs.stream().map(InputSpec::stage).distinct().toList();
  }
}
