package io.sluice.cli.status;

import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.grpc.Channels;
import io.sluice.cli.grpc.HostPortConverter;
import io.sluice.cli.grpc.StatusMessages;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice status}: the pipeline's stages and instances, as a table or as JSON. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    header = "Show the pipeline, its stages and their instances.",
    description = {
      "Shows the pipeline's state, global watermark and last checkpoint, and for every stage"
          + " instance: state, pid, address, rates, busy and backpressured time, heartbeat age,"
          + " watermark and the reason for its state; then the edges, the recent checkpoints"
          + " (duration, size, longest alignment) and the recent errors.",
      "--json adds each instance's gRPC and metrics addresses and the dashboard URL."
    })
public final class StatusCommand implements Callable<Integer> {
  private static final long CALL_TIMEOUT_MILLIS = 10_000;

  @Spec CommandSpec spec;

  @Option(
      names = "--coordinator",
      paramLabel = "HOST:PORT",
      defaultValue = "localhost:7000",
      converter = HostPortConverter.class,
      description = "The coordinator (default: ${DEFAULT-VALUE}).")
  HostAndPort coordinator;

  @Option(names = "--json", description = "Print a JSON document instead of a table.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ManagedChannel channel = Channels.open(coordinator);
    try {
      StatusReport report = StatusReport.fetch(channel, CALL_TIMEOUT_MILLIS);
      out.print(json ? StatusJson.format(report) + "\n" : StatusTable.format(report));
      out.flush();
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      err.println(
          "sluice status: "
              + StatusMessages.describe(e.getStatus(), "the coordinator", coordinator));
      return ExitCodes.FAILURE;
    } finally {
      Channels.close(channel);
    }
  }
}
