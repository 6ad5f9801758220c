package io.sluice.coordinator.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.proto.v1.Partitioning;
import io.sluice.runtime.api.StageFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpecLoaderTest {
  private static final Path BASE = Path.of("/srv/pipelines");
  private final SpecLoader loader = new SpecLoader(StageTypes.load());

  private PipelineSpec parse(String yaml) throws SpecException {
    return loader.read(yaml, BASE, "clicks.yaml");
  }

  private List<Problem> problems(String yaml) {
    try {
      parse(yaml);
    } catch (SpecException e) {
      return e.problems();
    }
    throw new AssertionError("spec was accepted but should not be:\n" + yaml);
  }

  private String message(String yaml) {
    try {
      parse(yaml);
    } catch (SpecException e) {
      return e.getMessage();
    }
    throw new AssertionError("spec was accepted but should not be:\n" + yaml);
  }

  @Test
  void validSpecWithEveryFromFormAndDefaults() throws SpecException {
    PipelineSpec spec = parse("""
        pipeline: clicks
        checkpoints: {interval: 10s, dir: ckpt}
        stages:
          - name: in
            type: ingest
            port: 7001
          - name: buys
            type: filter
            from: in
            where: {field: $.action, equals: purchase}
          - name: per-user
            type: count
            from: {stage: buys}
            replicas: 2
          - name: out
            type: file-sink
            from:
              - per-user
              - {stage: buys, partition: broadcast}
              - {stage: buys, output: dead-letter}
            path: out/x.jsonl
          - name: rejects
            type: file-sink
            from: {stage: out, output: rejected, partition: forward}
            path: rejects.jsonl
        """);

    assertThat(spec.name()).isEqualTo("clicks");
    assertThat(spec.coordinatorPort()).isEqualTo(7000);
    assertThat(spec.maxParallelism()).isEqualTo(128);
    assertThat(spec.heartbeat()).isEqualTo(
        new HeartbeatSpec(Duration.ofSeconds(1), Duration.ofSeconds(5)));
    assertThat(spec.checkpoints()).contains(
        new CheckpointSpec(Duration.ofSeconds(10), Path.of("/srv/pipelines/ckpt")));
    assertThat(spec.baseDir()).isEqualTo(BASE);
    assertThat(spec.stageNames()).containsExactly("in", "buys", "per-user", "out", "rejects");

    StageSpec in = spec.stage("in").orElseThrow();
    assertThat(in.role()).isEqualTo(StageFactory.Role.SOURCE);
    assertThat(in.port()).isEqualTo(7001);
    assertThat(in.replicas()).isEqualTo(1);
    assertThat(in.line()).isEqualTo(4);
    assertThat(in.inputs()).isEmpty();

    StageSpec buys = spec.stage("buys").orElseThrow();
    assertThat(buys.port()).isZero();
    assertThat(buys.line()).isEqualTo(7);
    assertThat(buys.inputs()).containsExactly(
        new InputSpec("in", "", Partitioning.PARTITIONING_ROUND_ROBIN, 9));
    assertThat(buys.settings().at("/where/field").asText()).isEqualTo("$.action");
    assertThat(buys.settingsJson()).contains("\"type\":\"filter\"");

    StageSpec perUser = spec.stage("per-user").orElseThrow();
    assertThat(perUser.stateful()).isTrue();
    assertThat(perUser.replicas()).isEqualTo(2);
    // A stage with keyed state reads by hash unless told otherwise.
    assertThat(perUser.inputs()).containsExactly(
        new InputSpec("buys", "", Partitioning.PARTITIONING_HASH, 13));

    StageSpec out = spec.stage("out").orElseThrow();
    assertThat(out.role()).isEqualTo(StageFactory.Role.SINK);
    assertThat(out.inputs()).containsExactly(
        new InputSpec("per-user", "", Partitioning.PARTITIONING_ROUND_ROBIN, 18),
        new InputSpec("buys", "", Partitioning.PARTITIONING_BROADCAST, 19),
        new InputSpec("buys", "dead-letter", Partitioning.PARTITIONING_ROUND_ROBIN, 20));
    assertThat(out.upstreamStages()).containsExactly("per-user", "buys");

    assertThat(spec.stage("rejects").orElseThrow().inputs()).containsExactly(
        new InputSpec("out", "rejected", Partitioning.PARTITIONING_FORWARD, 24));
    assertThat(spec.edgesFrom("buys")).containsExactly(
        new Edge("buys", "", "per-user", Partitioning.PARTITIONING_HASH),
        new Edge("buys", "", "out", Partitioning.PARTITIONING_BROADCAST),
        new Edge("buys", "dead-letter", "out", Partitioning.PARTITIONING_ROUND_ROBIN));
  }

  @Test
  void dashboardPortDefaultsToAnyFreePortAndIsRead() throws SpecException {
    assertThat(parse("""
        pipeline: p
        stages:
          - {name: in, type: ingest}
        """).dashboardPort()).isZero();
    assertThat(parse("""
        pipeline: p
        coordinator: {port: 7100, dashboardPort: 7180}
        stages:
          - {name: in, type: ingest}
        """).dashboardPort()).isEqualTo(7180);
  }

  @Test
  void aBadDashboardPortIsNamedWithItsLine() {
    List<Problem> problems = problems("""
        pipeline: p
        coordinator:
          port: 7100
          dashboardPort: 70000
        stages:
          - {name: in, type: ingest}
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).line()).isEqualTo(4);
    assertThat(problems.get(0).message())
        .contains("'coordinator.dashboardPort' must be a whole number from 0 to 65535")
        .contains("70000");
  }

  @Test
  void topLevelSettingsAreRead() throws SpecException {
    PipelineSpec spec = parse("""
        pipeline: p
        coordinator: {port: 7100}
        maxParallelism: 64
        heartbeat: {interval: 500ms, timeout: 3s}
        stages:
          - {name: in, type: ingest, replicas: 64}
        """);
    assertThat(spec.coordinatorPort()).isEqualTo(7100);
    assertThat(spec.maxParallelism()).isEqualTo(64);
    assertThat(spec.heartbeat()).isEqualTo(
        new HeartbeatSpec(Duration.ofMillis(500), Duration.ofSeconds(3)));
    assertThat(spec.checkpoints()).isEmpty();
    assertThat(spec.stages().get(0).replicas()).isEqualTo(64);
  }

  @Test
  void unknownTypeNamesStageLineAndKnownTypes() {
    String message = message("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
          - name: buys
            type: filtre
            from: in
        """);
    // The known types are every factory on the class path: the test ones and the runtime's.
    assertThat(StageTypes.load().names()).contains("count", "file-sink", "filter", "ingest");
    assertThat(message).isEqualTo("clicks.yaml:6: stage 'buys': type 'filtre' is not a known"
        + " stage type (known types: " + String.join(", ", StageTypes.load().names()) + ")");
  }

  @Test
  void missingInputNamesStageLineAndStages() {
    String message = message("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
          - name: buys
            type: filter
            from: in
          - name: out
            type: file-sink
            path: out.jsonl
            from: [buys, nope]
        """);
    assertThat(message).isEqualTo("clicks.yaml:11: stage 'out': reads from 'nope', which is not"
        + " a stage of this pipeline (stages: in, buys, out)");
  }

  @Test
  void cycleIsNamedAtTheFirstStageOfIt() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
          - name: a
            type: filter
            from: [in, b]
          - name: b
            type: filter
            from: a
        """);
    assertThat(problems).containsExactly(new Problem("a", 7,
        "its inputs form a cycle: a -> b -> a (data flows along the arrows); a pipeline must be"
            + " acyclic"));
  }

  @Test
  void longerCycleListsEveryStageInFlowOrder() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - {name: a, type: filter, from: c}
          - {name: b, type: filter, from: a}
          - {name: c, type: filter, from: b}
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).stage()).isEqualTo("a");
    assertThat(problems.get(0).line()).isEqualTo(3);
    assertThat(problems.get(0).message()).contains("a -> b -> c -> a");
  }

  @Test
  void stageReadingItselfIsACycle() {
    assertThat(problems("""
        pipeline: clicks
        stages:
          - {name: a, type: filter, from: a}
        """)).containsExactly(
        new Problem("a", 3, "reads from itself; a pipeline must be acyclic"));
  }

  @Test
  void badTopLevelDurationNamesTheLine() {
    String message = message("""
        pipeline: clicks
        heartbeat:
          interval: 10 parsecs
        stages:
          - {name: in, type: ingest}
        """);
    assertThat(message).startsWith("clicks.yaml:3: 'heartbeat.interval' is not a duration");
  }

  @Test
  void badStageDurationFromTheFactoryNamesTheKeyLine() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
          - name: per-minute
            type: window
            from: in
            window:
              tumbling: 10 parsecs
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).stage()).isEqualTo("per-minute");
    assertThat(problems.get(0).line()).isEqualTo(9);
    assertThat(problems.get(0).message()).contains("'window.tumbling' is not a duration");
  }

  @Test
  void missingSettingFromTheFactoryFallsBackToTheStageLine() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
          - name: out
            type: file-sink
            from: in
        """);
    assertThat(problems).containsExactly(new Problem("out", 5, "'path' is required"));
  }

  @Test
  void readingTheMainOutputOfASinkIsRejectedButItsDeadLettersMayBeRead() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - {name: in, type: ingest}
          - {name: out, type: file-sink, from: in, path: a.jsonl}
          - {name: more, type: filter, from: out}
          - {name: errors, type: file-sink, from: {stage: out, output: dead-letter}, path: e.jsonl}
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).stage()).isEqualTo("more");
    assertThat(problems.get(0).line()).isEqualTo(5);
    assertThat(problems.get(0).message()).startsWith("reads from 'out', a sink");
  }

  @Test
  void unknownSideOutputListsTheOutputsThereAre() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - {name: in, type: ingest}
          - {name: w, type: window, from: {stage: in, partition: hash}, window: {tumbling: 1m}}
          - name: late
            type: file-sink
            path: late.jsonl
            from: {stage: w, output: lte}
        """);
    assertThat(problems).containsExactly(new Problem("late", 8,
        "reads output 'lte' of 'w', which has no such output (type 'window' has: dead-letter,"
            + " late)"));
  }

  @Test
  void statefulStageFedByRoundRobinIsRejected() {
    String message = message("""
        pipeline: clicks
        stages:
          - {name: in, type: ingest}
          - name: per-user
            type: count
            from:
              stage: in
              partition: round_robin
        """);
    assertThat(message).isEqualTo("clicks.yaml:8: stage 'per-user': type 'count' keeps keyed"
        + " state, so it must read 'in' with partition: hash (got round_robin)");
  }

  @Test
  void duplicateNameIsRejectedAtTheSecondStage() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
          - name: in
            type: ingest
        """);
    assertThat(problems).containsExactly(new Problem("in", 5,
        "name 'in' is already used by the stage on line 3; stage names must be unique"));
  }

  @Test
  void everyProblemIsReportedOrderedByLine() {
    String message = message("""
        pipeline: clicks
        maxParallelism: 4
        stages:
          - {name: In, type: ingest}
          - {name: f, type: filter, replicas: 5}
          - {name: g, type: filter, from: {stage: f, partition: sideways}, port: 70000}
          - {name: s, type: ingest, from: f}
          - {type: filter, from: f}
        """);
    assertThat(message.lines()).containsExactly(
        "clicks.yaml:4: stage 'In': name 'In' must be lower-case letters, digits and '-',"
            + " starting with a letter or digit ([a-z0-9][a-z0-9-]*)",
        "clicks.yaml:5: stage 'f': replicas must be a whole number from 1 to 4 (at most"
            + " maxParallelism, 4), got: 5",
        "clicks.yaml:5: stage 'f': type 'filter' reads input, so it needs 'from:' naming the"
            + " stage(s) it reads from",
        "clicks.yaml:6: stage 'g': port must be a whole number from 0 to 65535 (0 picks a free"
            + " port), got: 70000",
        "clicks.yaml:6: stage 'g': partition 'sideways' is not one of hash, round_robin,"
            + " broadcast, forward",
        "clicks.yaml:7: stage 's': type 'ingest' is a source and reads no other stage; remove"
            + " 'from:'",
        "clicks.yaml:8: stage '#5': needs a 'name:'");
  }

  @Test
  void yamlSyntaxErrorHasItsLine() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
           bad indentation: [
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).line()).isEqualTo(5);
    assertThat(problems.get(0).message()).startsWith("YAML syntax:");
  }

  @Test
  void duplicateKeyIsASyntaxProblem() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages:
          - name: in
            type: ingest
            type: filter
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).line()).isEqualTo(5);
    assertThat(problems.get(0).message()).contains("duplicate key type");
  }

  @Test
  void recursiveAliasIsAProblemNotAStackOverflow() {
    List<Problem> problems = problems("""
        pipeline: clicks
        stages: &all
          - {name: in, type: ingest, again: *all}
        """);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0).line()).isEqualTo(2);
    assertThat(problems.get(0).message()).contains("cannot be recursive");
  }

  @Test
  void pipelineAndStagesAreRequiredAndUnknownKeysRejected() {
    assertThat(problems("stagse: []\n")).containsExactly(
        new Problem("", 1, "unknown key 'stagse' (known keys here: pipeline, coordinator,"
            + " maxParallelism, heartbeat, checkpoints, stages)"),
        new Problem("", 1, "needs 'pipeline:' naming the pipeline"),
        new Problem("", 1, "needs 'stages:', a list of the pipeline's stages"));
    assertThat(problems("pipeline: p\nstages: []\n")).extracting(Problem::line).containsExactly(2);
    assertThat(problems("")).hasSize(1);
  }

  @Test
  void checkpointsTakeDefaultsForAllButTheInterval() throws SpecException {
    PipelineSpec spec = parse("""
        pipeline: clicks
        checkpoints: {interval: 5s}
        stages: [{name: in, type: ingest}]
        """);
    CheckpointSpec checkpoints = spec.checkpoints().orElseThrow();
    assertThat(checkpoints).isEqualTo(new CheckpointSpec(Duration.ofSeconds(5),
        BASE.resolve(".sluice/checkpoints"), Duration.ofSeconds(60), 3,
        CheckpointSpec.Mode.EXACTLY_ONCE));
    assertThat(checkpoints.storageDir("clicks"))
        .isEqualTo(Path.of("/srv/pipelines/.sluice/checkpoints/clicks"));
  }

  @Test
  void checkpointsReadEveryKey() throws SpecException {
    PipelineSpec spec = parse("""
        pipeline: clicks
        checkpoints:
          interval: 2s
          dir: /data/ckpt
          timeout: 30s
          keep: 5
          mode: at-least-once
        stages: [{name: in, type: ingest}]
        """);
    assertThat(spec.checkpoints()).contains(new CheckpointSpec(Duration.ofSeconds(2),
        Path.of("/data/ckpt"), Duration.ofSeconds(30), 5, CheckpointSpec.Mode.AT_LEAST_ONCE));
  }

  @Test
  void checkpointProblemsNameTheKeyAndTheLine() {
    assertThat(problems("""
        pipeline: clicks
        checkpoints:
          dir: ckpt
          keep: 0
          mode: exactly_once
          timeout: soon
          every: 5s
        stages: [{name: in, type: ingest}]
        """)).containsExactly(
        new Problem("", 2, "'checkpoints' needs 'interval', how often a checkpoint is taken"
            + " (e.g. {interval: 10s})"),
        new Problem("", 4,
            "'checkpoints.keep' must be a whole number from 1 to 2147483647, got: 0"),
        new Problem("", 5, "'checkpoints.mode' must be exactly-once or at-least-once, got:"
            + " \"exactly_once\""),
        new Problem("", 6, "'checkpoints.timeout' is not a duration (use e.g. 500ms, 2s, 1m, 1h):"
            + " \"soon\""),
        new Problem("", 7, "unknown key 'checkpoints.every' (known keys here: interval, dir,"
            + " timeout, keep, mode)"));
  }

  @Test
  void checkpointIntervalMustBeADuration() {
    assertThat(message("""
        pipeline: clicks
        checkpoints: {interval: 0s}
        stages: [{name: in, type: ingest}]
        """)).startsWith("clicks.yaml:2: 'checkpoints.interval' must be longer than 0");
  }

  @Test
  void heartbeatTimeoutMustExceedInterval() {
    assertThat(problems("""
        pipeline: p
        heartbeat: {interval: 2s, timeout: 1s}
        stages: [{name: in, type: ingest}]
        """)).extracting(Problem::line, Problem::stage).containsExactly(
        org.assertj.core.groups.Tuple.tuple(2, ""));
  }

  @Test
  void loadReadsAFileAndNamesItInProblems(@TempDir Path dir) throws IOException, SpecException {
    Path file = dir.resolve("clicks.yaml");
    Files.writeString(file, "pipeline: clicks\nstages:\n  - {name: in, type: ingest}\n");
    PipelineSpec spec = SpecLoader.load(file);
    assertThat(spec.baseDir()).isEqualTo(dir.toAbsolutePath().normalize());

    Files.writeString(file, "pipeline: clicks\nstages:\n  - {name: in, type: nope}\n");
    assertThatThrownBy(() -> SpecLoader.load(file))
        .isInstanceOf(SpecException.class)
        .hasMessageStartingWith("clicks.yaml:3: stage 'in': type 'nope'");
  }
}
