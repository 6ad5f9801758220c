package io.sluice.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.grpc.Channels;
import io.sluice.cli.grpc.StatusMessages;
import io.sluice.cli.local.LocalLauncher;
import io.sluice.cli.send.BadInputException;
import io.sluice.cli.send.EventGenerator;
import io.sluice.cli.send.PublishException;
import io.sluice.cli.send.PublishSummary;
import io.sluice.cli.send.Publisher;
import io.sluice.cli.status.Formats;
import io.sluice.coordinator.spec.SpecException;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import io.sluice.stages.format.JsonLines;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice demo}: a whole pipeline on this machine, end to end. Writes the demo spec (ingest →
 * filter purchases → count per user, two replicas by key hash → file sink) to a temp folder, starts
 * it with {@link LocalLauncher}, sends generated click events with {@link Publisher}, drains, reads
 * the sink's file, prints the top users, and checks every user's final count against the count
 * computed straight from {@link EventGenerator}.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    header = "Run a small pipeline end to end and check its results.",
    description = {
      "Runs a small pipeline end to end on this machine: ingest -> filter (purchases) -> count"
          + " per user (2 replicas, hash) -> file sink. Sends generated events, drains, prints"
          + " the top users and checks every count against a reference computed from the"
          + " generator.",
      "Exit code 1 when the pipeline's results differ from the reference."
    })
public final class DemoCommand implements Callable<Integer> {
  static final String SPEC_RESOURCE = "demo.yaml";
  static final String SINK_PATH = "out/per-user.jsonl";
  static final String PRODUCER = "demo";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(
      names = "--events",
      paramLabel = "N",
      defaultValue = "20000",
      description = "How many events to send (default: ${DEFAULT-VALUE}).")
  long events;

  @Option(
      names = "--keys",
      paramLabel = "K",
      defaultValue = "100",
      description = "How many distinct users (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--seed",
      paramLabel = "S",
      defaultValue = "42",
      description = "Generator seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--dir",
      paramLabel = "DIR",
      description = "Work in this folder (kept) instead of a temporary one (deleted on success).")
  Path dir;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (events < 1 || keys < 1) {
      err.println("sluice demo: --events and --keys must be at least 1");
      return ExitCodes.USAGE;
    }
    boolean temporary = dir == null;
    Path work = temporary ? Files.createTempDirectory("sluice-demo-") : dir.toAbsolutePath();
    Files.createDirectories(work);
    Path specFile = work.resolve("demo.yaml");
    Files.writeString(specFile, specText(), StandardCharsets.UTF_8);
    out.println("demo pipeline in " + work);
    out.flush();

    int code;
    try (LocalLauncher launcher =
        LocalLauncher.builder(specFile).coordinatorPort(0).logDir(work.resolve("logs")).build()) {
      code = run(launcher, work, out, err);
    } catch (SpecException e) {
      // The shipped spec is wrong: a bug in this build, not in the user's input.
      err.println("sluice demo: the built-in demo spec is invalid:\n" + e.getMessage());
      return ExitCodes.FAILURE;
    }
    if (code == ExitCodes.OK && temporary) {
      deleteRecursively(work);
    } else if (code != ExitCodes.OK) {
      err.println("sluice demo: logs and files kept in " + work);
    }
    return code;
  }

  private int run(LocalLauncher launcher, Path work, PrintWriter out, PrintWriter err)
      throws InterruptedException, IOException {
    try {
      launcher.start();
      out.println(
          "started "
              + launcher.processes().size()
              + " processes: "
              + String.join(
                  ", ",
                  launcher.processes().stream()
                      .map(p -> p.instance() + " (pid " + p.pid() + ")")
                      .toList()));
      out.flush();
      PipelineStatus running = launcher.awaitState("running", START_TIMEOUT);
      HostAndPort ingest = ingestAddress(running);

      EventGenerator generator = new EventGenerator(PRODUCER, seed, keys, 100);
      PublishSummary summary;
      ManagedChannel channel = Channels.open(ingest);
      try {
        summary =
            new Publisher(channel, Publisher.Options.defaults(PRODUCER))
                .publish(generator.source(events));
      } finally {
        Channels.close(channel);
      }
      out.println(summary);
      out.flush();

      if (!launcher.drainAndWait(DRAIN_TIMEOUT)) {
        err.println(
            "sluice demo: the pipeline did not drain within "
                + DRAIN_TIMEOUT.toSeconds()
                + " s; exit codes: "
                + launcher.exitCodes());
        return ExitCodes.FAILURE;
      }
      List<String> failed =
          launcher.processes().stream()
              .filter(p -> p.process().exitValue() != 0)
              .map(
                  p ->
                      p.instance()
                          + " exited with "
                          + p.process().exitValue()
                          + " ("
                          + p.log()
                          + ")")
              .toList();
      if (!failed.isEmpty()) {
        err.println("sluice demo: " + String.join("; ", failed));
        return ExitCodes.FAILURE;
      }
      return check(work, generator, out, err);
    } catch (TimeoutException e) {
      err.println("sluice demo: " + e.getMessage());
      return ExitCodes.FAILURE;
    } catch (PublishException e) {
      err.println("sluice demo: " + StatusMessages.describe(e.status(), "the demo's ingest"));
      return ExitCodes.FAILURE;
    } catch (BadInputException e) {
      throw new IllegalStateException("generated events are never bad input", e);
    }
  }

  private static HostAndPort ingestAddress(PipelineStatus status) {
    for (StageStatus stage : status.getStagesList()) {
      if (stage.getType().equals("ingest")) {
        for (InstanceStatus i : stage.getInstancesList()) {
          if (i.hasEndpoint()) {
            return HostAndPort.fromString(Formats.address(i.getEndpoint()));
          }
        }
      }
    }
    throw new IllegalStateException(
        "the running demo pipeline reports no ingest address: " + status);
  }

  /** Compares the final count per user in the sink files with the generator's reference. */
  private int check(Path work, EventGenerator generator, PrintWriter out, PrintWriter err)
      throws IOException {
    Map<String, Long> actual = finalCounts(work.resolve(SINK_PATH));
    Map<String, Long> expected = reference(generator, events);

    List<Map.Entry<String, Long>> top = new ArrayList<>(actual.entrySet());
    top.sort(
        Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder())
            .thenComparing(Map.Entry.comparingByKey()));
    out.println();
    out.println("top users by purchases:");
    for (Map.Entry<String, Long> e : top.subList(0, Math.min(10, top.size()))) {
      out.printf("  %-10s %d%n", e.getKey(), e.getValue());
    }
    long total = actual.values().stream().mapToLong(Long::longValue).sum();
    long expectedTotal = expected.values().stream().mapToLong(Long::longValue).sum();
    out.println(
        "purchases counted: "
            + total
            + " of "
            + events
            + " events, for "
            + actual.size()
            + " users");

    List<String> differences = new ArrayList<>();
    for (String user : new TreeSet<>(union(actual, expected))) {
      long a = actual.getOrDefault(user, 0L);
      long x = expected.getOrDefault(user, 0L);
      if (a != x) {
        differences.add(user + ": counted " + a + ", expected " + x);
      }
    }
    if (differences.isEmpty()) {
      out.println("reference check: OK");
      out.flush();
      return ExitCodes.OK;
    }
    out.flush();
    err.println(
        "reference check: FAILED: "
            + differences.size()
            + " users differ (total "
            + total
            + ", expected "
            + expectedTotal
            + "):");
    differences.stream().limit(20).forEach(d -> err.println("  " + d));
    return ExitCodes.FAILURE;
  }

  private static java.util.Set<String> union(Map<String, Long> a, Map<String, Long> b) {
    java.util.Set<String> all = new java.util.HashSet<>(a.keySet());
    all.addAll(b.keySet());
    return all;
  }

  /** Purchases per user, straight from the generator. */
  static Map<String, Long> reference(EventGenerator generator, long events) {
    Map<String, Long> counts = new HashMap<>();
    for (long i = 1; i <= events; i++) {
      EventGenerator.GeneratedEvent g = generator.describe(i);
      if (g.action().equals("purchase")) {
        counts.merge(g.key(), 1L, Long::sum);
      }
    }
    return counts;
  }

  /**
   * The final count per key in the sink's files: the largest {@code count} seen for the key (the
   * count stage emits a running count per input event). Reads the sink's path and the files its
   * other replicas write beside it ({@code <stem>-<i>.<ext>}).
   */
  static Map<String, Long> finalCounts(Path sinkPath) throws IOException {
    String name = sinkPath.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String ext = dot > 0 ? name.substring(dot) : "";
    List<Path> files = new ArrayList<>();
    if (Files.exists(sinkPath)) {
      files.add(sinkPath);
    }
    try (Stream<Path> siblings = Files.list(sinkPath.getParent())) {
      siblings
          .filter(
              p -> {
                String n = p.getFileName().toString();
                return n.startsWith(stem + "-")
                    && n.endsWith(ext)
                    && n.substring(stem.length() + 1, n.length() - ext.length()).matches("\\d+");
              })
          .sorted()
          .forEach(files::add);
    }
    Map<String, Long> counts = new HashMap<>();
    for (Path file : files) {
      long lineNumber = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        lineNumber++;
        if (line.isBlank()) {
          continue;
        }
        Event e = JsonLines.parse(line, lineNumber);
        JsonNode payload = JSON.readTree(e.getPayload().toByteArray());
        long count = Objects.requireNonNull(payload.get("count"), "no count in " + line).asLong();
        counts.merge(e.getKey().toStringUtf8(), count, Math::max);
      }
    }
    return counts;
  }

  static String specText() {
    try (InputStream in = DemoCommand.class.getResourceAsStream(SPEC_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            "the demo spec " + SPEC_RESOURCE + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover temp folder is harmless
    }
  }
}
