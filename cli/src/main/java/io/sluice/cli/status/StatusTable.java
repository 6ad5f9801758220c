package io.sluice.cli.status;

import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.ErrorEvent;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TopologyEdge;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders a {@link StatusReport} as the human-readable text of {@code sluice status}: a header
 * (pipeline state, global watermark, last checkpoint, dashboard), one table row per stage instance,
 * the edges, the recent checkpoints and the recent errors (newest first, as the dashboard lists
 * them). Stateless.
 */
public final class StatusTable {
  /** How many recent errors the table shows; {@code --json} has every one the coordinator sent. */
  static final int ERRORS_SHOWN = 10;

  static final List<String> COLUMNS =
      List.of(
          "STAGE",
          "TYPE",
          "INSTANCE",
          "STATE",
          "PID",
          "ADDRESS",
          "IN/s",
          "OUT/s",
          "BUSY",
          "BACKPR",
          "HEARTBEAT",
          "WATERMARK",
          "REASON");

  private StatusTable() {}

  /** The whole text, ending with a newline. */
  public static String format(StatusReport report) {
    PipelineStatus s = report.status();
    StringBuilder out = new StringBuilder();
    out.append("pipeline ")
        .append(s.getPipeline())
        .append(": ")
        .append(s.getState())
        .append("   global watermark ")
        .append(Formats.watermark(s.getGlobalWatermark()))
        .append('\n');
    if (s.hasLastCheckpoint() && s.getLastCheckpoint().getCheckpointId() != 0) {
      out.append("last checkpoint: ").append(checkpoint(s.getLastCheckpoint())).append('\n');
    }
    if (!s.getDashboardUrl().isEmpty()) {
      out.append("dashboard: ").append(s.getDashboardUrl()).append('\n');
    }
    out.append('\n');

    List<List<String>> rows = new ArrayList<>();
    rows.add(COLUMNS);
    for (StageStatus stage : s.getStagesList()) {
      if (stage.getInstancesCount() == 0) {
        rows.add(
            List.of(
                stage.getName(),
                stage.getType(),
                "-",
                "0/" + stage.getDesiredParallelism() + " up",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                ""));
      }
      for (InstanceStatus i : stage.getInstancesList()) {
        rows.add(
            List.of(
                stage.getName(),
                stage.getType(),
                i.getInstanceId().isEmpty()
                    ? stage.getName() + "-" + i.getIndex()
                    : i.getInstanceId(),
                Formats.state(i.getState()),
                i.getPid() > 0 ? Long.toString(i.getPid()) : "-",
                Formats.address(i.getEndpoint()),
                Formats.rate(i.getRecordsInPerSecond()),
                Formats.rate(i.getRecordsOutPerSecond()),
                Formats.percent(i.getBusyRatio()),
                Formats.percent(i.getBackpressuredRatio()),
                Formats.age(i.getLastHeartbeatAgeMillis()),
                Formats.watermark(i.getWatermark()) + (i.getWatermarkIdle() ? " (idle)" : ""),
                i.getStateReason()));
      }
    }
    appendTable(out, rows);

    List<String> edges = edges(report);
    if (!edges.isEmpty()) {
      out.append("\nedges:\n");
      for (String e : edges) {
        out.append("  ").append(e).append('\n');
      }
    }
    if (s.getRecentCheckpointsCount() > 0) {
      out.append("\nrecent checkpoints:\n");
      for (int i = s.getRecentCheckpointsCount() - 1; i >= 0; i--) {
        out.append("  ").append(checkpoint(s.getRecentCheckpoints(i))).append('\n');
      }
    }
    if (s.getRecentErrorsCount() > 0) {
      out.append("\nrecent errors:\n");
      int oldestShown = Math.max(0, s.getRecentErrorsCount() - ERRORS_SHOWN);
      for (int i = s.getRecentErrorsCount() - 1; i >= oldestShown; i--) {
        out.append("  ").append(error(s.getRecentErrors(i))).append('\n');
      }
    }
    return out.toString();
  }

  /** {@code 2026-01-01T00:00:05.000Z  instance_dead  map-1: missed heartbeats for 5.2 s}. */
  static String error(ErrorEvent e) {
    return Formats.watermark(e.getAtMillis()) + "  " + e.getKind() + "  " + e.getSource() + ": "
        + e.getMessage();
  }

  private static List<String> edges(StatusReport report) {
    List<String> lines = new ArrayList<>();
    if (report.topology().isPresent()) {
      Topology t = report.topology().get();
      for (TopologyEdge e : t.getEdgesList()) {
        String from =
            e.getOutput().isEmpty() ? e.getFromStage() : e.getFromStage() + "." + e.getOutput();
        lines.add(
            from
                + " -> "
                + e.getToStage()
                + " ("
                + Formats.partitioning(e.getPartitioning())
                + ")");
      }
    } else {
      for (StageStatus stage : report.status().getStagesList()) {
        for (String input : stage.getInputsList()) {
          lines.add(input + " -> " + stage.getName());
        }
      }
    }
    return lines;
  }

  static String checkpoint(CheckpointInfo c) {
    StringBuilder sb = new StringBuilder();
    sb.append(c.getSavepoint() ? "savepoint " : "").append('#').append(c.getCheckpointId());
    sb.append(' ').append(c.getState());
    if (c.getDurationMillis() > 0) {
      sb.append(", ").append(c.getDurationMillis()).append(" ms");
    }
    if (c.getSizeBytes() > 0) {
      sb.append(", ").append(Formats.bytes(c.getSizeBytes()));
    }
    if (c.getMaxAlignmentMillis() > 0) {
      sb.append(", alignment ").append(c.getMaxAlignmentMillis()).append(" ms");
    }
    if (!c.getFailureReason().isEmpty()) {
      sb.append(": ").append(c.getFailureReason());
    }
    return sb.toString();
  }

  /** Left-aligned columns, two spaces apart; the last column is not padded. */
  private static void appendTable(StringBuilder out, List<List<String>> rows) {
    int columns = rows.get(0).size();
    int[] width = new int[columns];
    for (List<String> row : rows) {
      for (int c = 0; c < columns; c++) {
        width[c] = Math.max(width[c], row.get(c).length());
      }
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < columns; c++) {
        String cell = row.get(c);
        line.append(cell);
        if (c < columns - 1) {
          line.append(" ".repeat(width[c] - cell.length() + 2));
        }
      }
      out.append(line.toString().stripTrailing()).append('\n');
    }
  }
}
