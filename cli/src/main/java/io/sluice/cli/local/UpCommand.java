package io.sluice.cli.local;

import io.grpc.StatusRuntimeException;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.status.Formats;
import io.sluice.coordinator.spec.SpecException;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code sluice up}: runs a pipeline locally with a {@link LocalLauncher}, shows a live status
 * line, and on Ctrl-C (SIGINT) or SIGTERM drains the pipeline and waits for every process.
 */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    header = "Run a pipeline on this machine, one process per replica.",
    description = {
      "Runs a pipeline on this machine: the coordinator and every stage replica as separate"
          + " processes on loopback, with a live status line. Ctrl-C drains the pipeline and"
          + " stops every process.",
      "A stage process that dies while the pipeline runs is started again (same stage and"
          + " index, its log appended to) after a backoff of 200 ms doubling to 5 s, as Kubernetes"
          + " restarts a pod; it registers again and the pipeline recovers. A line on the status"
          + " output says so. Never after a clean exit or while draining.",
      "The spec is validated first: on a bad spec every problem is listed and nothing starts"
          + " (exit code 2)."
    })
public final class UpCommand implements Callable<Integer> {
  private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "PIPELINE.yaml", description = "The pipeline spec.")
  Path specFile;

  @Option(
      names = "--coordinator-port",
      paramLabel = "P",
      description = "The coordinator's port (default: the spec's, else 7000; 0 = any free one).")
  Integer coordinatorPort;

  @Option(
      names = "--logs",
      paramLabel = "DIR",
      description = "Where each process's log goes (default: .sluice/logs beside the spec).")
  Path logs;

  @Option(
      names = "--from-savepoint",
      paramLabel = "DIR",
      description =
          "Start the pipeline from this savepoint (the folder `sluice savepoint` printed); the"
              + " spec may give stages other replicas.")
  Path fromSavepoint;

  @Option(
      names = "--no-restart",
      description = "Leave dead stage processes dead (default: restart them).")
  boolean noRestart;

  @Option(
      names = "--jvm-options",
      paramLabel = "OPTS",
      description =
          "JVM options for every process, space-separated (default: \"-Xms32m -Xmx256m"
              + " -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError\").")
  String jvmOptions;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    LocalLauncher launcher;
    try {
      LocalLauncher.Builder b = LocalLauncher.builder(specFile);
      if (coordinatorPort != null) {
        b.coordinatorPort(coordinatorPort);
      }
      if (logs != null) {
        b.logDir(logs);
      }
      if (jvmOptions != null) {
        b.jvmOptions(
            Arrays.stream(jvmOptions.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList());
      }
      if (fromSavepoint != null) {
        if (!Files.isDirectory(fromSavepoint)) {
          err.println(
              "sluice up: --from-savepoint "
                  + fromSavepoint
                  + (Files.exists(fromSavepoint) ? " is not a folder" : ": no such folder")
                  + "; give the folder `sluice savepoint` printed; nothing started");
          return ExitCodes.USAGE;
        }
        b.fromSavepoint(fromSavepoint);
      }
      boolean terminal = System.console() != null;
      b.restartStages(!noRestart).onRestart(r -> printRestart(r, err, terminal));
      launcher = b.build();
    } catch (SpecException e) {
      err.println(e.getMessage());
      err.println("sluice up: " + specFile + " is not a valid pipeline spec; nothing started");
      return ExitCodes.USAGE;
    } catch (IOException e) {
      err.println("sluice up: cannot read " + specFile + ": " + e);
      return ExitCodes.USAGE;
    } catch (IllegalArgumentException e) {
      err.println("sluice up: " + e.getMessage());
      return ExitCodes.USAGE;
    }

    AtomicBoolean done = new AtomicBoolean();
    Thread hook =
        new Thread(
            () -> {
              if (done.get()) {
                return; // a normal exit: everything is already stopped
              }
              err.println("\nsluice up: draining pipeline '" + launcher.spec().name() + "'…");
              err.flush();
              boolean clean;
              try {
                clean = launcher.drainAndWait(DRAIN_TIMEOUT);
              } catch (InterruptedException e) {
                clean = false;
              }
              launcher.close();
              err.println(
                  clean
                      ? "sluice up: drained; every process exited"
                      : "sluice up: not every process exited within "
                          + DRAIN_TIMEOUT.toSeconds()
                          + " s; stopped them (see the logs in "
                          + launcher.logDir()
                          + ")");
              err.flush();
              out.flush();
              // A stop asked for by the user is a success; without this the JVM would report
              // the signal (130/143).
              Runtime.getRuntime().halt(clean ? ExitCodes.OK : ExitCodes.FAILURE);
            },
            "sluice-up-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    try {
      launcher.start();
      out.println(
          "pipeline '"
              + launcher.spec().name()
              + "': coordinator at "
              + launcher.coordinatorAddress()
              + ", "
              + launcher.processes().size()
              + " processes, logs in "
              + launcher.logDir());
      printDashboard(launcher, out);
      out.println("Ctrl-C drains the pipeline and stops every process.");
      out.flush();
      return watch(launcher, out, err);
    } catch (IOException | TimeoutException e) {
      err.println("sluice up: " + e.getMessage());
      done.set(true);
      launcher.close();
      return ExitCodes.FAILURE;
    } finally {
      done.set(true);
      launcher.close();
    }
  }

  /** Redraws the status line every second until the coordinator exits (pipeline finished). */
  /** Prints where the coordinator serves its dashboard; a coordinator that cannot say is skipped. */
  private static void printDashboard(LocalLauncher launcher, PrintWriter out) {
    try {
      String url = launcher.status().getDashboardUrl();
      if (!url.isEmpty()) {
        out.println("dashboard at " + url + " (metrics at " + url.replaceAll("/+$", "") + "/metrics)");
      }
    } catch (RuntimeException e) { // the status line below shows what is wrong with the coordinator
      out.println("dashboard: the coordinator did not say where (" + e.getMessage() + ")");
    }
  }

  private int watch(LocalLauncher launcher, PrintWriter out, PrintWriter err)
      throws InterruptedException {
    boolean terminal = System.console() != null;
    LocalProcess coordinator = launcher.process(LocalProcess.COORDINATOR).orElseThrow();
    boolean announced = false;
    String lastLine = "";
    long lastPrintNanos = 0;
    while (coordinator.isAlive()) {
      try {
        PipelineStatus s = launcher.status();
        if (!announced && s.getState().equals("running")) {
          announced = true;
          if (terminal) {
            err.print("\r\033[K");
          }
          announceEndpoints(s, out);
        }
        String line = StatusLine.format(s);
        if (terminal) {
          err.print("\r" + line + "\033[K");
          err.flush();
        } else if (!line.equals(lastLine) && System.nanoTime() - lastPrintNanos > 10_000_000_000L) {
          // Not a terminal (a log file): a line when something changed, at most every 10 s.
          err.println(line);
          err.flush();
          lastPrintNanos = System.nanoTime();
        }
        lastLine = line;
      } catch (StatusRuntimeException e) {
        // The coordinator may be finishing; the loop condition decides.
      }
      coordinator.process().waitFor(1, java.util.concurrent.TimeUnit.SECONDS);
    }
    if (terminal) {
      err.println();
    }
    int code = coordinator.process().exitValue();
    boolean others = launcher.awaitExit(launcher.processes(), DRAIN_TIMEOUT);
    out.println(
        "pipeline '"
            + launcher.spec().name()
            + "' "
            + (code == 0 ? "finished" : "coordinator exited with code " + code)
            + (others ? "" : "; some stage processes did not exit and were stopped"));
    return code == 0 && others ? ExitCodes.OK : ExitCodes.FAILURE;
  }

  /** One line per restart, above the live status line (which the next redraw puts back). */
  static void printRestart(StageRestart r, PrintWriter err, boolean terminal) {
    String line = "sluice up: " + r.describe();
    err.println(terminal ? "\r\033[K" + line : line);
    err.flush();
  }

  /** Tells the user where to send and read events, once instances have addresses. */
  private static void announceEndpoints(PipelineStatus s, PrintWriter out) {
    for (StageStatus stage : s.getStagesList()) {
      List<String> addresses =
          stage.getInstancesList().stream()
              .map(InstanceStatus::getEndpoint)
              .map(Formats::address)
              .filter(a -> !a.isEmpty())
              .toList();
      if (addresses.isEmpty()) {
        continue;
      }
      if (stage.getType().equals("ingest")) {
        out.println(
            "ingest '"
                + stage.getName()
                + "' at "
                + String.join(", ", addresses)
                + "  (sluice send --to "
                + addresses.get(0)
                + " --generate 10000)");
      } else if (stage.getType().equals("egress")) {
        out.println(
            "egress '"
                + stage.getName()
                + "' at "
                + String.join(", ", addresses)
                + "  (sluice tail --from "
                + addresses.get(0)
                + ")");
      }
    }
    out.flush();
  }
}
