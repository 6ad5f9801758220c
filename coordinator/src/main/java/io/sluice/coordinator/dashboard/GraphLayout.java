package io.sluice.coordinator.dashboard;

import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TopologyEdge;
import io.sluice.proto.v1.TopologyStage;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Each stage's column in the dashboard's graph: its topological depth, the longest path to it
 * from a stage without inputs, so every edge points rightwards. Stateless.
 */
final class GraphLayout {
  private GraphLayout() {}

  /** Stage name to depth (0 for sources), in the topology's stage order. */
  static Map<String, Integer> depths(Topology topology) {
    Map<String, Integer> depth = new LinkedHashMap<>();
    for (TopologyStage stage : topology.getStagesList()) {
      depth.put(stage.getName(), 0);
    }
    // Bellman-Ford style relaxation: a validated spec is acyclic, so at most |stages| rounds.
    Map<String, Integer> before = new HashMap<>();
    for (int round = 0; round < topology.getStagesCount() && !depth.equals(before); round++) {
      before = new HashMap<>(depth);
      for (TopologyEdge edge : topology.getEdgesList()) {
        Integer from = depth.get(edge.getFromStage());
        Integer to = depth.get(edge.getToStage());
        if (from != null && to != null && to < from + 1) {
          depth.put(edge.getToStage(), from + 1);
        }
      }
    }
    return depth;
  }
}
