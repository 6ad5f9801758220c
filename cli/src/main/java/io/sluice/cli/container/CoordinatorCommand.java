package io.sluice.cli.container;

import io.sluice.cli.ExitCodes;
import io.sluice.coordinator.CoordinatorServer;
import io.sluice.coordinator.spec.PipelineSpec;
import io.sluice.coordinator.spec.SpecException;
import io.sluice.coordinator.spec.SpecLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice coordinator}: what the coordinator's container (or {@code sluice up}) runs. Serves
 * until the pipeline has finished or the process gets SIGTERM.
 */
@Command(
    name = "coordinator",
    mixinStandardHelpOptions = true,
    header = "Run the coordinator of a pipeline (what its container runs).",
    description = {
      "Runs the coordinator of a pipeline: validates the spec, serves ControlService,"
          + " AdminService and gRPC health, and exits when the pipeline has finished"
          + " (or on SIGTERM).",
      "A bad spec exits with code 2 and lists every problem."
    })
public final class CoordinatorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--spec",
      required = true,
      paramLabel = "FILE",
      description = "The pipeline spec.")
  Path specFile;

  @Option(
      names = "--port",
      paramLabel = "P",
      description = "Port to listen on (default: the spec's coordinator.port, else 7000; 0 = any).")
  Integer port;

  @Option(
      names = "--bind",
      paramLabel = "HOST",
      defaultValue = "0.0.0.0",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(
      names = "--port-file",
      hidden = true,
      description = "Write the bound port here once listening (for launchers that pass port 0).")
  Path portFile;

  @Option(
      names = "--from-savepoint",
      paramLabel = "DIR",
      description = "Start the pipeline from this savepoint folder (savepoint-<n>); stages may have"
          + " other replicas than when it was taken.")
  Path fromSavepoint;

  @Option(
      names = "--exit-with-parent",
      hidden = true,
      description = "Exit when the process with this pid ends.")
  Long parentPid;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    PipelineSpec pipeline;
    try {
      pipeline = SpecLoader.load(specFile);
    } catch (SpecException e) {
      err.println(e.getMessage());
      err.println(
          "sluice coordinator: " + specFile + " is not a valid pipeline spec; nothing started");
      return ExitCodes.USAGE;
    } catch (IOException e) {
      err.println("sluice coordinator: cannot read " + specFile + ": " + e);
      return ExitCodes.USAGE;
    }
    if (parentPid != null) {
      ParentWatch.exitWhenGone(parentPid, "coordinator", err);
    }
    int listenPort = port != null ? port : pipeline.coordinatorPort();
    CoordinatorServer server;
    try {
      server = CoordinatorServer.start(pipeline, bind, listenPort, fromSavepoint);
    } catch (IllegalArgumentException e) {
      err.println("sluice coordinator: cannot start from savepoint " + fromSavepoint + ": " + e.getMessage());
      return ExitCodes.USAGE;
    } catch (IOException e) {
      if (fromSavepoint != null && !(e instanceof java.net.BindException)) {
        err.println("sluice coordinator: cannot read savepoint " + fromSavepoint + ": " + e.getMessage());
        return ExitCodes.USAGE;
      }
      err.println(
          "sluice coordinator: cannot listen on "
              + bind
              + ":"
              + listenPort
              + ": "
              + e.getMessage()
              + " (is another coordinator running there? pick another --port)");
      return ExitCodes.FAILURE;
    }
    // SIGTERM (Kubernetes stopping the pod, or `sluice up` stopping): close the server cleanly.
    Thread hook = new Thread(server::close, "sluice-coordinator-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      if (portFile != null) {
        writePortFile(portFile, server.port());
      }
      err.println(
          "coordinator of pipeline '"
              + pipeline.name()
              + "' listening on "
              + bind
              + ":"
              + server.port());
      err.flush();
      while (!server.awaitFinished(Duration.ofDays(1))) {
        // keep serving: a pipeline may run for ever
      }
      err.println("pipeline '" + pipeline.name() + "' finished");
      return ExitCodes.OK;
    } catch (IOException e) {
      err.println("sluice coordinator: cannot write " + portFile + ": " + e.getMessage());
      return ExitCodes.FAILURE;
    } finally {
      server.close();
      removeHook(hook);
    }
  }

  /** Written to a temporary file and moved, so a reader never sees a half-written port. */
  private static void writePortFile(Path file, int port) throws IOException {
    Path absolute = file.toAbsolutePath();
    Path tmp = absolute.resolveSibling(absolute.getFileName() + ".tmp");
    Files.writeString(tmp, Integer.toString(port), StandardCharsets.UTF_8);
    Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down: the hook is running or has run
    }
  }
}
