package io.sluice.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.sluice.cli.local.LocalLauncher;
import io.sluice.cli.send.EventSource;
import io.sluice.cli.send.PublishSummary;
import io.sluice.cli.send.Publisher;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A pipeline under test: its spec in a temporary folder, every stage replica and the coordinator
 * as separate JVMs started by {@link LocalLauncher} (the machinery of {@code sluice up}), and
 * helpers to publish to an ingest and read file sinks.
 */
final class Mesh implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  final Path dir;
  final LocalLauncher launcher;
  final int coordinatorPort;

  private Mesh(Path dir, LocalLauncher launcher, int coordinatorPort) {
    this.dir = dir;
    this.launcher = launcher;
    this.coordinatorPort = coordinatorPort;
  }

  /**
   * Writes the spec (with {@code {{COORDINATOR_PORT}}} and {@code {{PORT_n}}} replaced by free
   * ports) and starts every process.
   */
  static Mesh start(Path dir, String yaml, List<String> jvmOptions) throws Exception {
    return start(dir, yaml, jvmOptions, b -> {});
  }

  /** Like {@link #start(Path, String, List)}, with more settings of the launcher. */
  static Mesh start(
      Path dir, String yaml, List<String> jvmOptions, Consumer<LocalLauncher.Builder> settings)
      throws Exception {
    int coordinatorPort = freePort();
    String text = yaml.replace("{{COORDINATOR_PORT}}", Integer.toString(coordinatorPort));
    for (int i = 0; i < 10; i++) {
      if (text.contains("{{PORT_" + i + "}}")) {
        text = text.replace("{{PORT_" + i + "}}", Integer.toString(freePort()));
      }
    }
    Path spec = dir.resolve("pipeline.yaml");
    Files.writeString(spec, text);
    LocalLauncher.Builder builder = LocalLauncher.builder(spec)
        .jvmOptions(jvmOptions)
        .logDir(dir.resolve("logs"));
    settings.accept(builder);
    LocalLauncher launcher = builder.build();
    launcher.start();
    return new Mesh(dir, launcher, coordinatorPort);
  }

  static List<String> defaultJvm() {
    return LocalLauncher.DEFAULT_JVM_OPTIONS;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Waits until every stage has its desired number of running instances. */
  PipelineStatus awaitRunning(Duration timeout) throws Exception {
    return launcher.awaitState("running", timeout);
  }

  /** The gRPC endpoint of an instance, from the coordinator. */
  InstanceStatus instance(String stage, int index) {
    PipelineStatus s = launcher.status();
    for (StageStatus st : s.getStagesList()) {
      if (st.getName().equals(stage)) {
        for (InstanceStatus i : st.getInstancesList()) {
          if (i.getIndex() == index) {
            return i;
          }
        }
      }
    }
    throw new AssertionError("no instance " + stage + "-" + index + " in " + s);
  }

  Optional<InstanceStatus> findInstance(String stage, int index) {
    for (StageStatus st : launcher.status().getStagesList()) {
      if (st.getName().equals(stage)) {
        for (InstanceStatus i : st.getInstancesList()) {
          if (i.getIndex() == index) {
            return Optional.of(i);
          }
        }
      }
    }
    return Optional.empty();
  }

  ManagedChannel channelTo(String stage, int index) {
    InstanceStatus i = instance(stage, index);
    return NettyChannelBuilder.forAddress(i.getEndpoint().getHost(), i.getEndpoint().getPort())
        .usePlaintext().maxInboundMessageSize(64 * 1024 * 1024).build();
  }

  /** Publishes everything {@code source} yields to ingest instance {@code index}, waiting for acks. */
  PublishSummary publish(String ingest, int index, String producer, EventSource source) throws Exception {
    return publish(ingest, index, Publisher.Options.defaults(producer), source);
  }

  /** Like {@link #publish(String, int, String, EventSource)}, with the publisher's options. */
  PublishSummary publish(String ingest, int index, Publisher.Options options, EventSource source) throws Exception {
    ManagedChannel ch = channelTo(ingest, index);
    try {
      return new Publisher(ch, options).publish(source);
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** A condition on the running mesh that the test polls. */
  interface Check {
    boolean holds() throws Exception;
  }

  /**
   * Polls {@code check} every 50 ms until it holds; fails with {@code why} (and where the logs are)
   * after {@code timeout}. For conditions nothing notifies the test of, like lines in a sink file.
   */
  void await(Duration timeout, java.util.function.Supplier<String> why, Check check) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!check.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(why.get() + " after " + timeout + "; logs in " + dir.resolve("logs"));
      }
      Thread.sleep(50);
    }
  }

  /** Drains the pipeline and waits until every process has exited cleanly. */
  void drain(Duration timeout) throws Exception {
    if (!launcher.drainAndWait(timeout)) {
      throw new AssertionError("pipeline did not drain within " + timeout + "; exit codes "
          + launcher.exitCodes() + "; logs in " + dir.resolve("logs"));
    }
  }

  /**
   * Every finished JSON line of a file sink, replica files included (path, path-1, path-2…); a
   * line the sink is still writing is left for the next read.
   */
  List<JsonNode> readSink(String path) throws IOException {
    Path base = dir.resolve(path);
    List<JsonNode> out = new ArrayList<>();
    String name = base.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot < 0 ? name : name.substring(0, dot);
    String ext = dot < 0 ? "" : name.substring(dot);
    try (Stream<Path> files = Files.list(base.getParent())) {
      for (Path p : files.filter(p -> {
        String n = p.getFileName().toString();
        return n.equals(name) || (n.startsWith(stem + "-") && n.endsWith(ext));
      }).toList()) {
        byte[] bytes = Files.readAllBytes(p);
        // The sink may be writing a line right now: take only the lines it has finished (the
        // file sink ends every line with a newline), or a test can read half a line of JSON
        // (or half a UTF-8 character).
        int complete = bytes.length;
        while (complete > 0 && bytes[complete - 1] != '\n') {
          complete--;
        }
        String text = new String(bytes, 0, complete, java.nio.charset.StandardCharsets.UTF_8);
        for (String line : text.split("\n")) {
          if (!line.isBlank()) {
            out.add(JSON.readTree(line));
          }
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    launcher.close();
  }
}
