package io.sluice.coordinator.spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A validated pipeline spec, made by {@link SpecLoader}. Immutable and thread-safe.
 *
 * @param name the pipeline's name ({@code pipeline:})
 * @param coordinatorPort the port the coordinator listens on ({@code coordinator: {port:}}),
 *     default {@value #DEFAULT_COORDINATOR_PORT}
 * @param dashboardPort the port of the coordinator's dashboard, JSON API and {@code /metrics}
 *     ({@code coordinator: {dashboardPort:}}), default {@value #DEFAULT_DASHBOARD_PORT}: any free
 *     port, so that pipelines on one machine never collide; the environment variable {@code
 *     SLUICE_DASHBOARD_PORT} overrides it
 * @param maxParallelism the size of the key-group space ({@code maxParallelism:}), default
 *     {@value #DEFAULT_MAX_PARALLELISM}; no stage may have more replicas
 * @param heartbeat heartbeat interval and timeout ({@code heartbeat:})
 * @param checkpoints checkpoint settings ({@code checkpoints:}); empty when the spec has none
 * @param baseDir the spec file's folder, absolute; relative paths in settings resolve against it
 * @param stages the stages, in spec order
 */
public record PipelineSpec(
    String name,
    int coordinatorPort,
    int dashboardPort,
    int maxParallelism,
    HeartbeatSpec heartbeat,
    Optional<CheckpointSpec> checkpoints,
    Path baseDir,
    List<StageSpec> stages) {

  public static final int DEFAULT_COORDINATOR_PORT = 7000;
  /** 0: the dashboard takes any free port; its URL is in {@code GetStatus} and the log. */
  public static final int DEFAULT_DASHBOARD_PORT = 0;
  public static final int DEFAULT_MAX_PARALLELISM = 128;

  public PipelineSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(heartbeat, "heartbeat");
    Objects.requireNonNull(checkpoints, "checkpoints");
    baseDir = baseDir.toAbsolutePath().normalize();
    stages = List.copyOf(stages);
  }

  /** The stage of that name, if the pipeline has one. */
  public Optional<StageSpec> stage(String stageName) {
    return stages.stream().filter(s -> s.name().equals(stageName)).findFirst();
  }

  /** The stage names in spec order. */
  public List<String> stageNames() {
    return stages.stream().map(StageSpec::name).toList();
  }

  /** Every edge of the graph, ordered by the reading stage (spec order) then {@code from:} order. */
  public List<Edge> edges() {
    List<Edge> edges = new ArrayList<>();
    for (StageSpec stage : stages) {
      for (InputSpec in : stage.inputs()) {
        edges.add(new Edge(in.stage(), in.output(), stage.name(), in.partitioning()));
      }
    }
    return edges;
  }

  /** The edges leaving a stage, in the order of {@link #edges()}. */
  public List<Edge> edgesFrom(String stageName) {
    return edges().stream().filter(e -> e.fromStage().equals(stageName)).toList();
  }
}
