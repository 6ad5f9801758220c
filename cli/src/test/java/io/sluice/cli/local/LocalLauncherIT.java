package io.sluice.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.sluice.cli.grpc.Channels;
import io.sluice.cli.send.EventGenerator;
import io.sluice.cli.send.PublishSummary;
import io.sluice.cli.send.Publisher;
import io.sluice.cli.status.Formats;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launcher with real processes: coordinator and replicas as JVMs on loopback. */
@Tag("integration")
class LocalLauncherIT {
  private static final String SPEC =
      """
      pipeline: relay
      stages:
        - name: in
          type: ingest
        - name: relay
          type: passthrough
          from: in
          replicas: 2
        - name: out
          type: file-sink
          from: relay
          path: out/all.jsonl
      """;

  @TempDir Path dir;

  private LocalLauncher launcher() throws Exception {
    return launcher(b -> {});
  }

  private LocalLauncher launcher(Consumer<LocalLauncher.Builder> settings) throws Exception {
    Path spec = dir.resolve("relay.yaml");
    Files.writeString(spec, SPEC);
    LocalLauncher.Builder b = LocalLauncher.builder(spec).coordinatorPort(0);
    settings.accept(b);
    return b.build();
  }

  @Test
  void startsEveryReplicaAsAProcessAndDrainsThemAllCleanly() throws Exception {
    try (LocalLauncher launcher = launcher()) {
      launcher.start();

      assertThat(launcher.coordinatorAddress().getPort()).isPositive();
      assertThat(launcher.processes())
          .extracting(LocalProcess::instance)
          .containsExactly("coordinator", "in-0", "relay-0", "relay-1", "out-0");
      assertThat(launcher.processes()).allMatch(LocalProcess::isAlive);
      assertThat(launcher.processes().stream().map(LocalProcess::pid).distinct()).hasSize(5);
      PipelineStatus running = launcher.awaitState("running", Duration.ofSeconds(90));
      // The pids the coordinator reports are those of the launched processes.
      InstanceStatus relay1 = instance(running, "relay", 1);
      assertThat(relay1.getPid()).isEqualTo(launcher.process("relay-1").orElseThrow().pid());

      EventGenerator gen = new EventGenerator("it", 1, 100, 100);
      InstanceStatus in = instance(running, "in", 0);
      ManagedChannel channel =
          Channels.open(HostAndPort.fromString(Formats.address(in.getEndpoint())));
      PublishSummary summary;
      try {
        summary =
            new Publisher(channel, Publisher.Options.defaults("it")).publish(gen.source(5_000));
      } finally {
        Channels.close(channel);
      }
      assertThat(summary.ackedThrough()).isEqualTo(5_000);

      assertThat(launcher.drainAndWait(Duration.ofSeconds(60)))
          .as("drained; logs in %s", launcher.logDir())
          .isTrue();
      assertThat(launcher.exitCodes())
          .containsOnlyKeys("coordinator", "in-0", "relay-0", "relay-1", "out-0");
      assertThat(launcher.exitCodes().values()).containsOnly(0);
      List<String> lines = Files.readAllLines(dir.resolve("out/all.jsonl"), StandardCharsets.UTF_8);
      assertThat(lines).hasSize(5_000);
      assertThat(launcher.logDir().resolve("relay-1.log")).exists();
    }
  }

  @Test
  void aKilledReplicaCanBeStartedAgainAndCloseLeavesNothingRunning() throws Exception {
    List<ProcessHandle> all;
    // Restarts off: this test starts the replica again by hand (startReplica), and checks the log
    // has exactly two headers; the launcher's own restart would race with it.
    try (LocalLauncher launcher = launcher(b -> b.restartStages(false))) {
      launcher.start();
      launcher.awaitState("running", Duration.ofSeconds(90));
      LocalProcess before = launcher.process("relay-1").orElseThrow();

      assertThat(launcher.kill("relay-1")).isTrue();
      assertThat(before.isAlive()).isFalse();
      assertThat(before.process().exitValue()).isEqualTo(137); // SIGKILL: no shutdown hooks ran

      LocalProcess after = launcher.startReplica("relay", 1);
      assertThat(after.pid()).isNotEqualTo(before.pid());
      assertThat(launcher.process("relay-1")).contains(after);
      launcher.awaitStatus(
          s -> instance(s, "relay", 1).getPid() == after.pid(), Duration.ofSeconds(60));
      // One log per instance name: the restarted replica's header follows its predecessor's.
      assertThat(Files.readString(after.log()).split("starting relay-1", -1)).hasSize(3);
      all = launcher.processes().stream().map(LocalProcess::handle).toList();
    }
    assertThat(all).noneMatch(ProcessHandle::isAlive);
  }

  @Test
  void aStageKilledWithSigkillIsRestartedWithTheSameIndexAndRegistersAgain() throws Exception {
    List<StageRestart> announced = new CopyOnWriteArrayList<>();
    List<ProcessHandle> all;
    try (LocalLauncher launcher = launcher(b -> b.onRestart(announced::add))) {
      launcher.start();
      PipelineStatus running = launcher.awaitState("running", Duration.ofSeconds(90));
      LocalProcess before = launcher.process("relay-0").orElseThrow();
      assertThat(instance(running, "relay", 0).getPid()).isEqualTo(before.pid());

      // kill -9 from outside the launcher, as the OOM killer or a user would.
      Process kill = new ProcessBuilder("kill", "-9", Long.toString(before.pid())).start();
      assertThat(kill.waitFor()).isZero();

      // Back: a new process for the same index, registered with the coordinator and running.
      PipelineStatus back =
          launcher.awaitStatus(
              s -> {
                LocalProcess now = launcher.process("relay-0").orElseThrow();
                InstanceStatus i = instance(s, "relay", 0);
                return now.pid() != before.pid()
                    && i.getPid() == now.pid()
                    && i.getState() == InstanceState.INSTANCE_STATE_RUNNING;
              },
              Duration.ofSeconds(90));
      LocalProcess after = launcher.process("relay-0").orElseThrow();
      assertThat(after.isAlive()).isTrue();
      assertThat(after.index()).isZero();
      assertThat(instance(back, "relay", 0).getIndex()).isZero();
      assertThat(launcher.restarts("relay-0"))
          .singleElement()
          .satisfies(
              r -> {
                assertThat(r.exitedPid()).isEqualTo(before.pid());
                assertThat(r.exitCode()).isEqualTo(137);
                assertThat(r.newPid()).isEqualTo(after.pid());
                assertThat(r.delay()).isEqualTo(Duration.ofMillis(200));
              });
      assertThat(announced).containsExactlyElementsOf(launcher.restarts());
      // The same log, appended: the replacement's header follows its predecessor's.
      assertThat(Files.readString(after.log()).split("starting relay-0", -1)).hasSize(3);
      assertThat(launcher.restarts("relay-1")).isEmpty();

      // A drain ends every process with 0, and nothing is restarted after it.
      assertThat(launcher.drainAndWait(Duration.ofSeconds(60)))
          .as("drained; logs in %s", launcher.logDir())
          .isTrue();
      assertThat(launcher.exitCodes().values()).containsOnly(0);
      assertThat(launcher.restarts()).hasSize(1);
      all = launcher.processes().stream().map(LocalProcess::handle).toList();
    }
    assertThat(all).noneMatch(ProcessHandle::isAlive);
  }

  static InstanceStatus instance(PipelineStatus s, String stage, int index) {
    return s.getStagesList().stream()
        .filter(st -> st.getName().equals(stage))
        .flatMap(st -> st.getInstancesList().stream())
        .filter(i -> i.getIndex() == index)
        .reduce((a, b) -> b) // the latest registration of that index
        .orElseThrow(() -> new AssertionError("no " + stage + "-" + index + " in " + s));
  }
}
