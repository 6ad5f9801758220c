package io.sluice.cli.savepoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.grpc.Channels;
import io.sluice.cli.grpc.HostPortConverter;
import io.sluice.cli.grpc.StatusMessages;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.TriggerSavepointRequest;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice savepoint}: asks the coordinator for a savepoint ({@code
 * AdminService.TriggerSavepoint}) and prints its id and where it is stored, for {@code sluice up
 * --from-savepoint}.
 */
@Command(
    name = "savepoint",
    mixinStandardHelpOptions = true,
    header = "Take a savepoint of the running pipeline.",
    description = {
      "Asks the coordinator for a savepoint: a checkpoint of every stage's state that is kept"
          + " until you delete it. Prints its id and its folder; start a pipeline from it with"
          + " `sluice up PIPELINE.yaml --from-savepoint FOLDER` (the spec may change replicas).",
      "The pipeline must have checkpoints configured and be running; otherwise the"
          + " coordinator's reason is printed (FAILED_PRECONDITION) and the exit code is 1."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:the savepoint was taken",
      "1:the coordinator refused or could not take it (the reason is printed)",
      "2:bad usage"
    })
public final class SavepointCommand implements Callable<Integer> {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Spec CommandSpec spec;

  @Option(
      names = "--coordinator",
      paramLabel = "HOST:PORT",
      defaultValue = "localhost:7000",
      converter = HostPortConverter.class,
      description = "The coordinator (default: ${DEFAULT-VALUE}).")
  HostAndPort coordinator;

  @Option(
      names = "--target",
      paramLabel = "DIR",
      description =
          "Keep the savepoint in this folder, as the coordinator sees it (default: the pipeline's"
              + " checkpoints.dir).")
  String target;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "120",
      description = "How long to wait for the savepoint (default: ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  @Option(names = "--json", description = "Print the savepoint as a JSON document.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (timeoutSeconds < 1) {
      err.println("sluice savepoint: --timeout must be at least 1 second, got " + timeoutSeconds);
      return ExitCodes.USAGE;
    }
    if (target != null && target.isBlank()) {
      err.println("sluice savepoint: --target must not be empty");
      return ExitCodes.USAGE;
    }
    ManagedChannel channel = Channels.open(coordinator);
    try {
      CheckpointInfo info =
          AdminServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS)
              .triggerSavepoint(
                  TriggerSavepointRequest.newBuilder()
                      .setTarget(target == null ? "" : target)
                      .build());
      out.print(json ? toJson(info) + "\n" : format(info));
      out.flush();
      if (info.getState().equals("aborted")) {
        err.println(
            "sluice savepoint: savepoint "
                + info.getCheckpointId()
                + " was aborted: "
                + (info.getFailureReason().isEmpty() ? "no reason given" : info.getFailureReason()));
        return ExitCodes.FAILURE;
      }
      return ExitCodes.OK;
    } catch (StatusRuntimeException e) {
      err.println(
          "sluice savepoint: "
              + StatusMessages.describe(e.getStatus(), "the coordinator", coordinator));
      return ExitCodes.FAILURE;
    } finally {
      Channels.close(channel);
    }
  }

  /**
   * The human form, e.g.
   *
   * <pre>
   * savepoint 7 completed in 1.25 s, 3.4 MiB, triggered at 2026-01-01T00:00:05Z
   * location: /data/.sluice/checkpoints/clicks/savepoint-7
   * start from it: sluice up PIPELINE.yaml --from-savepoint /data/.sluice/checkpoints/clicks/savepoint-7
   * </pre>
   */
  static String format(CheckpointInfo info) {
    StringBuilder sb = new StringBuilder();
    sb.append("savepoint ").append(info.getCheckpointId()).append(' ').append(info.getState());
    if (info.getDurationMillis() > 0) {
      sb.append(String.format(Locale.ROOT, " in %.2f s", info.getDurationMillis() / 1000.0));
    }
    if (info.getSizeBytes() > 0) {
      sb.append(", ").append(bytes(info.getSizeBytes()));
    }
    if (info.getTriggeredAtMillis() > 0) {
      sb.append(", triggered at ").append(Instant.ofEpochMilli(info.getTriggeredAtMillis()));
    }
    sb.append('\n');
    sb.append("location: ")
        .append(info.getLocation().isEmpty() ? "(not given)" : info.getLocation())
        .append('\n');
    if (!info.getFailureReason().isEmpty()) {
      sb.append("failure: ").append(info.getFailureReason()).append('\n');
    }
    if (info.getState().equals("completed") && !info.getLocation().isEmpty()) {
      sb.append("start from it: sluice up PIPELINE.yaml --from-savepoint ")
          .append(info.getLocation())
          .append('\n');
    }
    return sb.toString();
  }

  private static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    if (n < 1024 * 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
    }
    return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
  }

  /**
   * The {@code --json} form: the CheckpointInfo fields with the camelCase names {@code sluice
   * status --json} uses for its {@code lastCheckpoint}: {@code {"checkpointId", "state",
   * "savepoint", "triggeredAtMillis", "durationMillis", "sizeBytes", "location",
   * "failureReason"}}.
   */
  static String toJson(CheckpointInfo info) {
    ObjectNode n = JSON.createObjectNode();
    n.put("checkpointId", info.getCheckpointId());
    n.put("state", info.getState());
    n.put("savepoint", info.getSavepoint());
    n.put("triggeredAtMillis", info.getTriggeredAtMillis());
    n.put("durationMillis", info.getDurationMillis());
    n.put("sizeBytes", info.getSizeBytes());
    n.put("location", info.getLocation());
    n.put("failureReason", info.getFailureReason());
    try {
      return JSON.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot happen: a tree of plain values", e);
    }
  }
}
