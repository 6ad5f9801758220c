package io.sluice.coordinator.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.StageFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads and validates a pipeline spec. Everything is checked before anything starts and every
 * problem is reported at once, each with the stage and the line: YAML syntax, the top-level keys,
 * each stage's own keys, each stage's settings (by its type's {@link StageFactory#create}), and
 * the graph (inputs, outputs, cycles).
 *
 * <p>Top-level keys: {@code pipeline} (required), {@code coordinator: {port}} (default 7000),
 * {@code maxParallelism} (default 128), {@code heartbeat: {interval, timeout}} (default 1s, 5s),
 * {@code checkpoints: {interval, dir, timeout, keep, mode}} (optional; {@code interval} required
 * when given; defaults {@code .sluice/checkpoints}, 60s, 3, exactly-once; see {@link
 * CheckpointSpec}), {@code stages} (required, non-empty). Stage keys read here: {@code name},
 * {@code type}, {@code replicas} (default 1), {@code port} (default 0 = any), {@code from}; every
 * other key belongs to the stage type.
 *
 * <p>Thread-safe: each call works on its own state.
 */
public final class SpecLoader {
  private final StageTypes types;

  /** A loader that knows exactly these stage types. */
  public SpecLoader(StageTypes types) {
    this.types = types;
  }

  /** Reads a spec file with the stage types on the class path ({@link StageTypes#load()}). */
  public static PipelineSpec load(Path file) throws IOException, SpecException {
    return new SpecLoader(StageTypes.load()).read(file);
  }

  /**
   * Reads spec text with the stage types on the class path; relative paths resolve against {@code
   * baseDir}. Problems call the spec "pipeline.yaml".
   */
  public static PipelineSpec parse(String yaml, Path baseDir) throws SpecException {
    return new SpecLoader(StageTypes.load()).read(yaml, baseDir, "pipeline.yaml");
  }

  /** Reads a spec file; relative paths in it resolve against the file's folder. */
  public PipelineSpec read(Path file) throws IOException, SpecException {
    Path absolute = file.toAbsolutePath().normalize();
    String text = Files.readString(absolute, StandardCharsets.UTF_8);
    return read(text, absolute.getParent(), String.valueOf(absolute.getFileName()));
  }

  /**
   * Reads spec text.
   *
   * @param yaml the spec
   * @param baseDir the folder relative paths resolve against
   * @param fileName what problems call the spec, e.g. "clicks.yaml"
   * @throws SpecException with every problem found
   */
  public PipelineSpec read(String yaml, Path baseDir, String fileName) throws SpecException {
    YamlDocument doc;
    try {
      doc = YamlDocument.parse(yaml);
    } catch (YamlDocument.SyntaxError e) {
      throw new SpecException(fileName, List.of(new Problem("", e.line(), e.getMessage())));
    }
    Path base = baseDir.toAbsolutePath().normalize();
    Problems problems = new Problems();
    JsonNode root = doc.json();
    if (!root.isObject()) {
      problems.add(
          "", 1, "a pipeline spec is a YAML mapping with at least 'pipeline:' and 'stages:'");
      throw new SpecException(fileName, problems.sorted());
    }

    TopLevelReader top = new TopLevelReader(doc, problems, base);
    top.checkKeys(root);
    String name = top.pipelineName(root);
    int port = top.coordinatorPort(root);
    int dashboardPort = top.dashboardPort(root);
    int maxParallelism = top.maxParallelism(root);
    HeartbeatSpec heartbeat = top.heartbeat(root);
    Optional<CheckpointSpec> checkpoints = top.checkpoints(root);

    List<StageDraft> drafts = readStages(doc, root, problems, base, maxParallelism);
    new GraphChecker(doc, problems).check(drafts);

    if (!problems.isEmpty()) {
      throw new SpecException(fileName, problems.sorted());
    }
    List<StageSpec> stages = new ArrayList<>();
    for (StageDraft d : drafts) {
      stages.add(new StageSpec(
          d.name, d.type, d.factory.role(), d.factory.stateful(), d.replicas, d.port, d.line,
          d.inputs, d.settings));
    }
    return new PipelineSpec(name, port, dashboardPort, maxParallelism, heartbeat, checkpoints, base, stages);
  }

  private List<StageDraft> readStages(
      YamlDocument doc, JsonNode root, Problems problems, Path base, int maxParallelism) {
    List<StageDraft> drafts = new ArrayList<>();
    JsonNode stages = root.get("stages");
    if (stages == null || stages.isNull()) {
      problems.add("", 1, "needs 'stages:', a list of the pipeline's stages");
    } else if (!stages.isArray() || stages.isEmpty()) {
      problems.add(
          "",
          doc.line(List.of("stages")),
          "'stages' must be a non-empty list of stages (- name: NAME, type: TYPE, …), got: "
              + stages);
    } else {
      StageReader reader = new StageReader(doc, types, problems, base, maxParallelism);
      for (int i = 0; i < stages.size(); i++) {
        drafts.add(reader.read(i, stages.get(i)));
      }
    }
    return drafts;
  }
}
