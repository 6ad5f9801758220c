package io.sluice.cli.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.ErrorEvent;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import io.sluice.proto.v1.TopologyEdge;

/**
 * Renders a {@link StatusReport} as the JSON document of {@code sluice status --json}, for scripts
 * and tests. Its shape (camelCase keys, addresses as {@code "host:port"}, instance states as the
 * enum's names without prefix ({@code "RUNNING"}, {@code "DEAD"}), watermarks as epoch millis or
 * null when unknown, each with a {@code …Iso} twin as {@code sluice status} prints it: an ISO-8601
 * UTC instant with milliseconds, {@code "end"} for INT64_MAX, null when unknown) is part of the
 * CLI's interface:
 *
 * <pre>{@code
 * {"pipeline": "clicks", "state": "running", "dashboardUrl": "http://…", "globalWatermark": ms,
 *  "globalWatermarkIso": "2026-01-01T00:00:05.000Z", "heartbeatTimeoutMillis": 5000,
 *  "lastCheckpoint": {…} | null,
 *  "recentCheckpoints": [{"checkpointId", "state", "savepoint", "triggeredAtMillis",
 *                         "durationMillis", "sizeBytes", "maxAlignmentMillis", "location",
 *                         "failureReason"}],
 *  "recentErrors": [{"atMillis", "atIso", "kind", "source", "message"}],
 *  "stages": [{"name", "type", "desiredParallelism", "inputs": [...],
 *              "instances": [{"instanceId", "index", "state", "reason", "pid", "runtime",
 *                             "grpcAddress", "metricsAddress", "metricsUrl",
 *                             "heartbeatAgeMillis", "recordsInPerSecond", "recordsOutPerSecond",
 *                             "busyRatio", "backpressuredRatio", "idleRatio", "recordsIn",
 *                             "recordsOut", "deadLetters", "watermark", "watermarkIso", "watermarkIdle",
 *                             "inboxDepth",
 *                             "keyGroups": {"start", "end"} | null, "heapUsedBytes",
 *                             "directUsedBytes", "rssBytes"}]}],
 *  "edges": [{"from", "output", "to", "partitioning"}]}
 * }</pre>
 *
 * The recent checkpoints and errors are oldest first, as the coordinator sends them.
 *
 * Stateless.
 */
public final class StatusJson {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private StatusJson() {}

  /** The document as a tree. */
  public static ObjectNode toTree(StatusReport report) {
    PipelineStatus s = report.status();
    ObjectNode root = MAPPER.createObjectNode();
    root.put("pipeline", s.getPipeline());
    root.put("state", s.getState());
    root.put("dashboardUrl", s.getDashboardUrl());
    putWatermark(root, "globalWatermark", s.getGlobalWatermark());
    root.put("heartbeatTimeoutMillis", s.getHeartbeatTimeoutMillis());
    if (s.hasLastCheckpoint() && s.getLastCheckpoint().getCheckpointId() != 0) {
      root.set("lastCheckpoint", checkpoint(s.getLastCheckpoint()));
    } else {
      root.putNull("lastCheckpoint");
    }
    ArrayNode recent = root.putArray("recentCheckpoints");
    s.getRecentCheckpointsList().forEach(c -> recent.add(checkpoint(c)));
    ArrayNode errors = root.putArray("recentErrors");
    for (ErrorEvent e : s.getRecentErrorsList()) {
      ObjectNode n = errors.addObject();
      n.put("atMillis", e.getAtMillis());
      n.put("atIso", Formats.watermark(e.getAtMillis()));
      n.put("kind", e.getKind());
      n.put("source", e.getSource());
      n.put("message", e.getMessage());
    }
    ArrayNode stages = root.putArray("stages");
    for (StageStatus stage : s.getStagesList()) {
      ObjectNode st = stages.addObject();
      st.put("name", stage.getName());
      st.put("type", stage.getType());
      st.put("desiredParallelism", stage.getDesiredParallelism());
      ArrayNode inputs = st.putArray("inputs");
      stage.getInputsList().forEach(inputs::add);
      ArrayNode instances = st.putArray("instances");
      for (InstanceStatus i : stage.getInstancesList()) {
        instances.add(instance(i));
      }
    }
    ArrayNode edges = root.putArray("edges");
    report
        .topology()
        .ifPresent(
            t -> {
              for (TopologyEdge e : t.getEdgesList()) {
                ObjectNode edge = edges.addObject();
                edge.put("from", e.getFromStage());
                edge.put("output", e.getOutput());
                edge.put("to", e.getToStage());
                edge.put("partitioning", Formats.partitioning(e.getPartitioning()));
              }
            });
    return root;
  }

  /** The document as indented text. */
  public static String format(StatusReport report) {
    return toTree(report).toPrettyString();
  }

  private static ObjectNode instance(InstanceStatus i) {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("instanceId", i.getInstanceId());
    n.put("index", i.getIndex());
    n.put("state", Formats.state(i.getState()));
    n.put("reason", i.getStateReason());
    n.put("pid", i.getPid());
    n.put("runtime", i.getRuntime());
    n.put("grpcAddress", Formats.address(i.getEndpoint()));
    String metrics = Formats.address(i.getMetricsEndpoint());
    n.put("metricsAddress", metrics);
    // The Prometheus exporter's conventional path.
    n.put("metricsUrl", metrics.isEmpty() ? "" : "http://" + metrics + "/metrics");
    n.put("heartbeatAgeMillis", i.getLastHeartbeatAgeMillis());
    n.put("recordsInPerSecond", i.getRecordsInPerSecond());
    n.put("recordsOutPerSecond", i.getRecordsOutPerSecond());
    n.put("busyRatio", i.getBusyRatio());
    n.put("backpressuredRatio", i.getBackpressuredRatio());
    n.put("idleRatio", i.getIdleRatio());
    n.put("recordsIn", i.getRecordsIn());
    n.put("recordsOut", i.getRecordsOut());
    n.put("deadLetters", i.getDeadLetters());
    putWatermark(n, "watermark", i.getWatermark());
    n.put("watermarkIdle", i.getWatermarkIdle());
    n.put("inboxDepth", i.getInboxDepth());
    if (i.hasKeyGroups()) {
      ObjectNode kg = n.putObject("keyGroups");
      kg.put("start", i.getKeyGroups().getStart());
      kg.put("end", i.getKeyGroups().getEnd());
    } else {
      n.putNull("keyGroups");
    }
    n.put("heapUsedBytes", i.getHeapUsedBytes());
    n.put("directUsedBytes", i.getDirectUsedBytes());
    n.put("rssBytes", i.getRssBytes());
    return n;
  }

  private static ObjectNode checkpoint(CheckpointInfo c) {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("checkpointId", c.getCheckpointId());
    n.put("state", c.getState());
    n.put("savepoint", c.getSavepoint());
    n.put("triggeredAtMillis", c.getTriggeredAtMillis());
    n.put("durationMillis", c.getDurationMillis());
    n.put("sizeBytes", c.getSizeBytes());
    n.put("maxAlignmentMillis", c.getMaxAlignmentMillis());
    n.put("location", c.getLocation());
    n.put("failureReason", c.getFailureReason());
    return n;
  }

  /** {@code field} as epoch millis and {@code fieldIso} as text; both null when unknown. */
  private static void putWatermark(ObjectNode n, String field, long millis) {
    if (millis == Long.MIN_VALUE) {
      n.putNull(field);
      n.putNull(field + "Iso");
    } else {
      n.put(field, millis);
      n.put(field + "Iso", Formats.watermark(millis));
    }
  }
}
