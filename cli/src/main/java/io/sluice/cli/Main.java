package io.sluice.cli;

import io.sluice.cli.container.CoordinatorCommand;
import io.sluice.cli.container.StageCommand;
import io.sluice.cli.demo.DemoCommand;
import io.sluice.cli.enrich.EnrichServiceCommand;
import io.sluice.cli.local.UpCommand;
import io.sluice.cli.savepoint.SavepointCommand;
import io.sluice.cli.send.SendCommand;
import io.sluice.cli.status.StatusCommand;
import io.sluice.cli.tail.TailCommand;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code sluice} command: runs pipelines locally, sends and reads events, shows status, takes
 * savepoints, and is what a coordinator or stage container runs. Exit codes: {@link ExitCodes}.
 */
@Command(
    name = "sluice",
    mixinStandardHelpOptions = true,
    version = "sluice 0.1.0",
    description = "A stream-processing mesh: every stage a gRPC service.",
    subcommands = {
      UpCommand.class,
      SendCommand.class,
      TailCommand.class,
      StatusCommand.class,
      SavepointCommand.class,
      DemoCommand.class,
      CoordinatorCommand.class,
      StageCommand.class,
      EnrichServiceCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:ok", "1:runtime failure", "2:bad usage or bad input"})
public final class Main implements Callable<Integer> {
  @Spec CommandSpec spec;

  /** Runs the command line and exits the JVM with its exit code. */
  public static void main(String[] args) {
    PrintWriter out =
        new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
    PrintWriter err =
        new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
    int code = execute(args, out, err);
    out.flush();
    err.flush();
    System.exit(code);
  }

  /**
   * Runs one command line in this JVM and returns its exit code, writing to {@code out} and {@code
   * err}; for tests and for embedding. Does not exit the JVM.
   */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine.getErr().println("sluice " + commandLine.getCommandName() + ": " + e);
          if (System.getenv("SLUICE_DEBUG") != null) {
            e.printStackTrace(commandLine.getErr());
          } else {
            commandLine.getErr().println("(set SLUICE_DEBUG=1 to see the stack trace)");
          }
          return ExitCodes.FAILURE;
        });
    return cli.execute(args);
  }

  @Override
  public Integer call() {
    // `sluice` alone: show what there is, and count it as bad usage.
    spec.commandLine().getErr().println("sluice: missing command");
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }
}
