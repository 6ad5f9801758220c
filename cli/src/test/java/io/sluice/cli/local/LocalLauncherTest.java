package io.sluice.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.cli.CliRunner;
import io.sluice.coordinator.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the launcher does before starting anything; the process tests are in LocalLauncherIT. */
class LocalLauncherTest {
  @TempDir Path dir;

  private Path badSpec() throws Exception {
    Path spec = dir.resolve("bad.yaml");
    Files.writeString(
        spec,
        """
        pipeline: bad
        stages:
          - name: in
            type: ingest
          - name: shout
            type: uppercase
            from: in
          - name: out
            type: file-sink
            from: nowhere
            path: out.jsonl
        """);
    return spec;
  }

  @Test
  void aBadSpecFailsTheBuildWithEveryProblem() throws Exception {
    Path spec = badSpec();

    assertThatThrownBy(() -> LocalLauncher.builder(spec).build())
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("bad.yaml:6:")
        .hasMessageContaining("uppercase")
        .hasMessageContaining("bad.yaml:10:")
        .hasMessageContaining("nowhere");
    assertThat(dir.resolve(".sluice")).doesNotExist();
  }

  @Test
  void upWithABadSpecListsTheProblemsExitsTwoAndStartsNothing() throws Exception {
    Path spec = badSpec();

    CliRunner.Result r = CliRunner.run("up", spec.toString());

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err())
        .contains("stage 'shout'")
        .contains("stage 'out'")
        .contains("nothing started");
    assertThat(dir.resolve(".sluice")).doesNotExist();
  }

  @Test
  void upWithAMissingSpecExitsTwo() {
    CliRunner.Result r = CliRunner.run("up", dir.resolve("none.yaml").toString());

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("none.yaml");
  }

  @Test
  void beforeStartThereIsNoCoordinatorAndNoProcess() throws Exception {
    Path spec = dir.resolve("ok.yaml");
    Files.writeString(
        spec,
        """
        pipeline: ok
        stages:
          - name: in
            type: ingest
          - name: out
            type: stdout-sink
            from: in
        """);
    try (LocalLauncher launcher = LocalLauncher.builder(spec).coordinatorPort(0).build()) {
      assertThat(launcher.processes()).isEmpty();
      assertThat(launcher.logDir()).isEqualTo(dir.resolve(".sluice").resolve("logs"));
      assertThatThrownBy(launcher::coordinatorAddress)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("start()");
      assertThatThrownBy(() -> launcher.startReplica("nope", 0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no stage 'nope'");
    }
    assertThatThrownBy(() -> LocalLauncher.builder(spec).coordinatorPort(70_000))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
