package io.sluice.coordinator.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.coordinator.checkpoint.CheckpointStats;
import io.sluice.coordinator.events.ErrorEvent;
import io.sluice.coordinator.watermark.GlobalWatermark;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.InstanceStatus;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TopologyEdge;
import io.sluice.proto.v1.TopologyStage;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON documents of the dashboard's API, built from the coordinator's own views. Keys are
 * camelCase; times are epoch millis; a watermark is null while unknown; lists the page shows
 * newest-first are newest first. Stateless.
 */
final class ApiDocuments {
  static final ObjectMapper JSON = new ObjectMapper();

  private ApiDocuments() {}

  /**
   * {@code /api/status}: {@code {pipeline, state, generatedAtMillis, globalWatermark,
   * globalWatermarkLagMillis, dashboardUrl, stages: [{name, type, desiredParallelism, inputs,
   * running, recordsInPerSecond, recordsOutPerSecond, busyRatio, backpressuredRatio,
   * maxBackpressuredRatio, backpressured, deadLetters, watermark, instances: [...]}]}}.
   */
  static ObjectNode status(PipelineStatus status, long nowMillis) {
    ObjectNode root = JSON.createObjectNode();
    root.put("pipeline", status.getPipeline());
    root.put("state", status.getState());
    root.put("generatedAtMillis", nowMillis);
    putWatermark(root, "globalWatermark", status.getGlobalWatermark());
    if (known(status.getGlobalWatermark())) {
      root.put("globalWatermarkLagMillis", nowMillis - status.getGlobalWatermark());
    } else {
      root.putNull("globalWatermarkLagMillis");
    }
    root.put("dashboardUrl", status.getDashboardUrl());
    ArrayNode stages = root.putArray("stages");
    for (StageStatus stage : status.getStagesList()) {
      StageFigures f = StageFigures.of(stage);
      ObjectNode s = stages.addObject();
      s.put("name", stage.getName());
      s.put("type", stage.getType());
      s.put("desiredParallelism", stage.getDesiredParallelism());
      ArrayNode inputs = s.putArray("inputs");
      stage.getInputsList().forEach(inputs::add);
      s.put("running", f.running());
      s.put("recordsInPerSecond", f.recordsInPerSecond());
      s.put("recordsOutPerSecond", f.recordsOutPerSecond());
      s.put("busyRatio", f.busyRatio());
      s.put("backpressuredRatio", f.backpressuredRatio());
      s.put("maxBackpressuredRatio", f.maxBackpressuredRatio());
      s.put("backpressured", f.backpressured());
      s.put("deadLetters", f.deadLetters());
      putWatermark(s, "watermark", f.watermark());
      ArrayNode instances = s.putArray("instances");
      for (InstanceStatus i : stage.getInstancesList()) {
        instances.add(instance(i));
      }
    }
    return root;
  }

  /**
   * {@code /api/topology}: {@code {pipeline, nodes: [{name, type, replicas, depth}], edges:
   * [{from, output, to, partitioning}]}}.
   */
  static ObjectNode topology(Topology topology) {
    Map<String, Integer> depths = GraphLayout.depths(topology);
    ObjectNode root = JSON.createObjectNode();
    root.put("pipeline", topology.getPipeline());
    ArrayNode nodes = root.putArray("nodes");
    for (TopologyStage stage : topology.getStagesList()) {
      ObjectNode n = nodes.addObject();
      n.put("name", stage.getName());
      n.put("type", stage.getType());
      n.put("replicas", stage.getParallelism());
      n.put("depth", depths.get(stage.getName()));
    }
    ArrayNode edges = root.putArray("edges");
    for (TopologyEdge edge : topology.getEdgesList()) {
      ObjectNode e = edges.addObject();
      e.put("from", edge.getFromStage());
      e.put("output", edge.getOutput());
      e.put("to", edge.getToStage());
      e.put("partitioning", partitioning(edge.getPartitioning()));
    }
    return root;
  }

  /**
   * {@code /api/checkpoints}: {@code {configured, checkpoints: [{checkpointId, state, savepoint,
   * triggeredAtMillis, durationMillis, sizeBytes, maxAlignmentMillis, location,
   * failureReason}]}}, newest first.
   */
  static ObjectNode checkpoints(boolean configured, List<CheckpointStats> oldestFirst) {
    ObjectNode root = JSON.createObjectNode();
    root.put("configured", configured);
    ArrayNode list = root.putArray("checkpoints");
    for (int i = oldestFirst.size() - 1; i >= 0; i--) {
      CheckpointStats c = oldestFirst.get(i);
      ObjectNode n = list.addObject();
      n.put("checkpointId", c.checkpointId());
      n.put("state", c.state().wireName());
      n.put("savepoint", c.savepoint());
      n.put("triggeredAtMillis", c.triggeredAtMillis());
      n.put("durationMillis", c.durationMillis());
      n.put("sizeBytes", c.sizeBytes());
      n.put("maxAlignmentMillis", c.maxAlignmentMillis());
      n.put("location", c.location());
      n.put("failureReason", c.failureReason());
    }
    return root;
  }

  /** {@code /api/errors}: {@code {errors: [{atMillis, kind, source, message}]}}, newest first. */
  static ObjectNode errors(List<ErrorEvent> oldestFirst) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode list = root.putArray("errors");
    for (int i = oldestFirst.size() - 1; i >= 0; i--) {
      ErrorEvent e = oldestFirst.get(i);
      ObjectNode n = list.addObject();
      n.put("atMillis", e.atMillis());
      n.put("kind", e.kind().wireName());
      n.put("source", e.source());
      n.put("message", e.message());
    }
    return root;
  }

  /**
   * {@code /api/history}: {@code {intervalMillis, capacity, samples: [{atMillis, stages: {name:
   * {rate, backpressuredRatio}}}]}}, oldest first.
   */
  static ObjectNode history(long intervalMillis, int capacity, List<RateHistory.Sample> samples) {
    ObjectNode root = JSON.createObjectNode();
    root.put("intervalMillis", intervalMillis);
    root.put("capacity", capacity);
    ArrayNode list = root.putArray("samples");
    for (RateHistory.Sample sample : samples) {
      ObjectNode n = list.addObject();
      n.put("atMillis", sample.atMillis());
      ObjectNode stages = n.putObject("stages");
      sample.stages().forEach((name, point) -> {
        ObjectNode p = stages.putObject(name);
        p.put("rate", point.rate());
        p.put("backpressuredRatio", point.backpressuredRatio());
      });
    }
    return root;
  }

  /** A 4xx answer's body: {@code {error: status, message}}. */
  static ObjectNode error(int httpStatus, String message) {
    ObjectNode root = JSON.createObjectNode();
    root.put("error", httpStatus);
    root.put("message", message);
    return root;
  }

  private static ObjectNode instance(InstanceStatus i) {
    ObjectNode n = JSON.createObjectNode();
    n.put("instanceId", i.getInstanceId());
    n.put("index", i.getIndex());
    n.put("state", state(i.getState()));
    n.put("reason", i.getStateReason());
    n.put("pid", i.getPid());
    n.put("heartbeatAgeMillis", i.getLastHeartbeatAgeMillis());
    n.put("recordsInPerSecond", i.getRecordsInPerSecond());
    n.put("recordsOutPerSecond", i.getRecordsOutPerSecond());
    n.put("busyRatio", i.getBusyRatio());
    n.put("backpressuredRatio", i.getBackpressuredRatio());
    n.put("idleRatio", i.getIdleRatio());
    n.put("recordsIn", i.getRecordsIn());
    n.put("recordsOut", i.getRecordsOut());
    n.put("deadLetters", i.getDeadLetters());
    n.put("inboxDepth", i.getInboxDepth());
    putWatermark(n, "watermark", i.getWatermark());
    n.put("watermarkIdle", i.getWatermarkIdle());
    n.put("heapUsedBytes", i.getHeapUsedBytes());
    return n;
  }

  /** {@code running}, {@code dead}…: the enum's name without its prefix. */
  static String state(InstanceState state) {
    return state == InstanceState.UNRECOGNIZED
        ? "unknown"
        : state.name().replace("INSTANCE_STATE_", "").toLowerCase(Locale.ROOT);
  }

  private static String partitioning(Partitioning p) {
    return p == Partitioning.UNRECOGNIZED
        ? "unknown"
        : p.name().replace("PARTITIONING_", "").toLowerCase(Locale.ROOT);
  }

  private static boolean known(long watermark) {
    return watermark != GlobalWatermark.UNKNOWN && watermark != Long.MAX_VALUE;
  }

  /** Epoch millis; null while unknown; INT64_MAX (an ended input) stays as is. */
  private static void putWatermark(ObjectNode n, String field, long millis) {
    if (millis == GlobalWatermark.UNKNOWN) {
      n.putNull(field);
    } else {
      n.put(field, millis);
    }
  }
}
