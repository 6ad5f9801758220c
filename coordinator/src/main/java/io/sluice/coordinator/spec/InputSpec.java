package io.sluice.coordinator.spec;

import io.sluice.proto.v1.Partitioning;
import java.util.Objects;

/**
 * One entry of a stage's {@code from:}: the upstream stage, which of its outputs, and how events
 * are spread over this stage's instances. Immutable.
 *
 * @param stage the upstream stage's name
 * @param output {@code ""} for the main output, or a side output's name such as {@code
 *     "dead-letter"}
 * @param partitioning how the edge spreads events over the reading stage's instances
 * @param line the 1-based line of the entry in the spec file
 */
public record InputSpec(String stage, String output, Partitioning partitioning, int line) {
  public InputSpec {
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(partitioning, "partitioning");
  }

  /** Whether this input reads the upstream stage's main output. */
  public boolean mainOutput() {
    return output.isEmpty();
  }
}
