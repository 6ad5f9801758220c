package io.sluice.cli.container;

import com.google.common.net.HostAndPort;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.grpc.HostPortConverter;
import io.sluice.runtime.StageProcess;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice stage}: what a stage's container (or {@code sluice up}) runs: one instance of one
 * stage, until it has drained or the process gets SIGTERM.
 */
@Command(
    name = "stage",
    mixinStandardHelpOptions = true,
    header = "Run one instance of a stage (what its container runs).",
    description = {
      "Runs one instance of a stage: registers with the coordinator (which tells it its type and"
          + " settings), serves the data plane, and exits when it has drained (exit code 0) or"
          + " failed (1)."
    })
public final class StageCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--coordinator",
      paramLabel = "HOST:PORT",
      defaultValue = "localhost:7000",
      converter = HostPortConverter.class,
      description = "The coordinator (default: ${DEFAULT-VALUE}).")
  HostAndPort coordinator;

  @Option(
      names = "--stage",
      required = true,
      paramLabel = "NAME",
      description = "The stage's name in the spec.")
  String stage;

  @Option(
      names = "--index",
      paramLabel = "I",
      defaultValue = "-1",
      description = "The replica index to ask for (default: any free one).")
  int index;

  @Option(
      names = "--port",
      paramLabel = "P",
      defaultValue = "0",
      description = "Port to listen on (default: any free one).")
  int port;

  @Option(
      names = "--bind",
      paramLabel = "HOST",
      defaultValue = "0.0.0.0",
      description =
          "Address to listen on (default: ${DEFAULT-VALUE}; others reach the instance at"
              + " SLUICE_ADVERTISE_HOST, else this address).")
  String bind;

  @Option(
      names = "--exit-with-parent",
      hidden = true,
      description = "Exit when the process with this pid ends.")
  Long parentPid;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    if (index < -1 || port < 0 || port > 65535) {
      err.println("sluice stage: --index must be >= 0 and --port in 0..65535");
      return ExitCodes.USAGE;
    }
    if (parentPid != null) {
      ParentWatch.exitWhenGone(parentPid, "stage " + stage, err);
    }
    StageProcess process;
    try {
      process =
          StageProcess.start(
              new StageProcess.Options(coordinator.toString(), stage, index, bind, port));
    } catch (IOException e) {
      err.println("sluice stage: stage '" + stage + "' could not start: " + e.getMessage());
      return ExitCodes.FAILURE;
    }
    // SIGTERM: stop the instance; the coordinator sees the control stream close. Closed once:
    // awaitTermination() closes the process itself when it ends on its own.
    AtomicBoolean closed = new AtomicBoolean();
    Thread hook =
        new Thread(
            () -> {
              if (closed.compareAndSet(false, true)) {
                process.close();
              }
            },
            "sluice-stage-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean ended = false;
    try {
      int code = process.awaitTermination();
      ended = true;
      closed.set(true);
      err.println("stage '" + stage + "' " + (code == 0 ? "finished" : "stopped with errors"));
      return code == 0 ? ExitCodes.OK : ExitCodes.FAILURE;
    } finally {
      if (!ended && closed.compareAndSet(false, true)) {
        process.close();
      }
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // already shutting down
      }
    }
  }
}
