package io.sluice.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.cli.CliRunner;
import io.sluice.coordinator.spec.SpecException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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

  private Path okSpec() throws Exception {
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
    return spec;
  }

  @Test
  void aSavepointIsPassedToTheCoordinatorAsAnAbsoluteFolder() throws Exception {
    Path spec = okSpec();
    Path savepoint = Files.createDirectories(dir.resolve("chk/ok/savepoint-3"));
    Path portFile = dir.resolve("coordinator.port");

    try (LocalLauncher launcher =
        LocalLauncher.builder(spec)
            .fromSavepoint(dir.resolve("chk/ok/../ok/./savepoint-3"))
            .build()) {
      assertThat(launcher.coordinatorArgs(portFile))
          .containsSubsequence("--from-savepoint", savepoint.toString());
    }
    try (LocalLauncher launcher = LocalLauncher.builder(spec).fromSavepoint(savepoint).build()) {
      List<String> args = launcher.coordinatorArgs(portFile);
      assertThat(args).startsWith("coordinator", "--spec", spec.toString());
      assertThat(args.subList(args.size() - 2, args.size()))
          .containsExactly("--from-savepoint", savepoint.toString());
    }
    try (LocalLauncher launcher = LocalLauncher.builder(spec).build()) {
      assertThat(launcher.coordinatorArgs(portFile)).doesNotContain("--from-savepoint");
    }
  }

  @Test
  void aMissingSavepointFolderIsRejectedBeforeAnythingStarts() throws Exception {
    Path spec = okSpec();
    Path file = Files.writeString(dir.resolve("not-a-folder"), "x");

    assertThatThrownBy(
            () -> LocalLauncher.builder(spec).fromSavepoint(dir.resolve("nope")).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nope does not exist");
    assertThatThrownBy(() -> LocalLauncher.builder(spec).fromSavepoint(file).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a folder");

    CliRunner.Result r =
        CliRunner.run(
            "up", spec.toString(), "--from-savepoint", dir.resolve("nope").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("--from-savepoint").contains("no such folder").contains("nothing started");
    CliRunner.Result f = CliRunner.run("up", spec.toString(), "--from-savepoint", file.toString());
    assertThat(f.exitCode()).isEqualTo(2);
    assertThat(f.err()).contains("is not a folder");
    assertThat(dir.resolve(".sluice")).doesNotExist();
  }

  @Test
  void restartsBackOffLikeKubernetesAndResetAfterALongRun() {
    RestartBackoff b = new RestartBackoff();
    List<Long> quick = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      quick.add(b.delayAfter(Duration.ofSeconds(1)).toMillis());
    }
    assertThat(quick).containsExactly(200L, 400L, 800L, 1_600L, 3_200L, 5_000L, 5_000L);
    assertThat(b.delayAfter(Duration.ofSeconds(29)).toMillis()).isEqualTo(5_000);
    assertThat(b.delayAfter(Duration.ofSeconds(30)).toMillis()).isEqualTo(200); // ran long enough
    assertThat(b.delayAfter(Duration.ofMillis(10)).toMillis()).isEqualTo(400);
  }

  @Test
  void aRestartIsOneLineOnTheStatusOutput() {
    StageRestart ok =
        new StageRestart(
            "relay-0",
            "relay",
            0,
            4711,
            137,
            Duration.ofMillis(12_340),
            Duration.ofMillis(200),
            4790,
            Instant.EPOCH,
            "");
    StageRestart failed =
        new StageRestart(
            "relay-1",
            "relay",
            1,
            4712,
            1,
            Duration.ofMillis(500),
            Duration.ofMillis(400),
            0,
            Instant.EPOCH,
            "the launcher is closed");
    StringWriter text = new StringWriter();
    UpCommand.printRestart(ok, new PrintWriter(text, true), false);
    UpCommand.printRestart(failed, new PrintWriter(text, true), false);

    assertThat(text.toString().lines())
        .containsExactly(
            "sluice up: relay-0 (pid 4711) exited with code 137 after 12.3 s; restarted as pid 4790"
                + " after 200 ms",
            "sluice up: relay-1 (pid 4712) exited with code 1 after 0.5 s; could not restart it:"
                + " the launcher is closed");
    assertThat(ok.started()).isTrue();
    assertThat(failed.started()).isFalse();
  }
}
