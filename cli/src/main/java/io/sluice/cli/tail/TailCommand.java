package io.sluice.cli.tail;

import com.google.common.net.HostAndPort;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.grpc.Channels;
import io.sluice.cli.grpc.HostPortConverter;
import io.sluice.cli.grpc.StatusMessages;
import io.sluice.proto.v1.EgressServiceGrpc;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.SubscribeRequest;
import io.sluice.stages.format.JsonLines;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice tail}: follows an egress stage and prints its events as JSON lines on standard
 * output.
 *
 * <p>Reads with the blocking stub, which asks for one batch at a time: a slow terminal (or a pipe
 * into a slow program) backpressures the egress rather than filling this process's memory.
 */
@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    header = "Follow an egress stage and print its events as JSON lines.",
    description = {
      "Follows an egress stage (EgressService.Subscribe) and prints each event as a JSON line.",
      "Runs until the stream ends, --count events have been printed, or Ctrl-C.",
      "When the egress restores from a checkpoint, resubscribes after the last event printed and"
          + " skips the repeats (events keep their numbers): each event is printed once."
    })
public final class TailCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--from",
      required = true,
      paramLabel = "HOST:PORT",
      converter = HostPortConverter.class,
      description = "The egress stage instance to follow (see `sluice status`).")
  HostAndPort from;

  @Option(names = "--count", paramLabel = "N", description = "Stop after N events.")
  Long count;

  @Option(
      names = "--from-sequence",
      paramLabel = "S",
      defaultValue = "0",
      description =
          "Resume after the events already seen, while the egress still holds them;"
              + " 0 (the default) starts from now.")
  long fromSequence;

  @Option(
      names = "--lossy",
      description =
          "Miss events when falling behind instead of holding the pipeline back (for dashboards).")
  boolean lossy;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (count != null && count < 0 || fromSequence < 0) {
      err.println("sluice tail: --count and --from-sequence must be >= 0");
      return ExitCodes.USAGE;
    }
    if (count != null && count == 0) {
      return ExitCodes.OK;
    }
    ManagedChannel channel = Channels.open(from);
    // A cancellable context lets us end the server stream cleanly once --count is reached.
    Context.CancellableContext context = Context.current().withCancellation();
    Context previous = context.attach();
    long printed = 0;
    long lastSeen = 0; // the number of the last event printed, to skip repeats after a restore
    int retries = 0;
    try {
      while (true) {
        try {
          Iterator<EventBatch> batches =
              EgressServiceGrpc.newBlockingStub(channel)
                  .subscribe(
                      SubscribeRequest.newBuilder()
                          .setFromSequence(lastSeen > 0 ? lastSeen + 1 : fromSequence)
                          .setLossy(lossy)
                          .build());
          while (batches.hasNext()) {
            EventBatch batch = batches.next();
            long number = batch.getFirstSequence();
            for (Event event : batch.getEventsList()) {
              if (number > 0 && number <= lastSeen) {
                number++;
                continue; // a repeat after a restore: it keeps its number
              }
              out.println(JsonLines.format(event));
              lastSeen = Math.max(lastSeen, number++);
              printed++;
              retries = 0; // progress
              if (count != null && printed >= count) {
                out.flush();
                return ExitCodes.OK;
              }
            }
            out.flush(); // once per batch: a line-at-a-time flush would dominate a fast stream
          }
          return ExitCodes.OK;
        } catch (StatusRuntimeException e) {
          // An egress restoring from a checkpoint says so: follow it again after the last event.
          String why = e.getStatus().getDescription();
          boolean restoring = e.getStatus().getCode() == Status.Code.UNAVAILABLE && why != null
              && why.contains("restoring");
          if (!restoring || lastSeen == 0 || ++retries > 50) {
            throw e;
          }
          java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L); // back off before resubscribing
        }
      }
    } catch (StatusRuntimeException e) {
      out.flush();
      err.println(
          "sluice tail: "
              + StatusMessages.describe(e.getStatus(), "the egress", from)
              + " (after "
              + printed
              + " events)");
      return e.getStatus().getCode() == Status.Code.CANCELLED ? ExitCodes.OK : ExitCodes.FAILURE;
    } finally {
      context.detach(previous);
      context.cancel(null);
      Channels.close(channel);
    }
  }
}
