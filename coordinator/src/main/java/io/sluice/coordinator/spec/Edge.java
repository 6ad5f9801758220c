package io.sluice.coordinator.spec;

import io.sluice.proto.v1.Partitioning;
import java.util.Objects;

/**
 * A data edge of the pipeline graph: {@code toStage} reads {@code output} of {@code fromStage}.
 * Immutable.
 *
 * @param fromStage the upstream stage
 * @param output {@code ""} for the main output, else the side output's name
 * @param toStage the downstream stage
 * @param partitioning how events are spread over the downstream stage's instances
 */
public record Edge(String fromStage, String output, String toStage, Partitioning partitioning) {
  public Edge {
    Objects.requireNonNull(fromStage, "fromStage");
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(toStage, "toStage");
    Objects.requireNonNull(partitioning, "partitioning");
  }
}
