package io.sluice.coordinator.spec;

import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.StageFactory;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The checks that need every stage at once: unique names, inputs that name real stages and real
 * outputs, sinks not read, and no cycles. Confined to the loading thread.
 */
final class GraphChecker {
  private final YamlDocument doc;
  private final Problems problems;

  GraphChecker(YamlDocument doc, Problems problems) {
    this.doc = doc;
    this.problems = problems;
  }

  void check(List<StageDraft> stages) {
    Map<String, StageDraft> byName = uniqueNames(stages);
    for (StageDraft stage : stages) {
      checkInputs(stage, byName);
    }
    checkCycles(stages, byName);
  }

  /** The first stage of each name; later stages of the same name are problems. */
  private Map<String, StageDraft> uniqueNames(List<StageDraft> stages) {
    Map<String, StageDraft> byName = new LinkedHashMap<>();
    for (StageDraft stage : stages) {
      if (stage.name == null) {
        continue;
      }
      StageDraft first = byName.putIfAbsent(stage.name, stage);
      if (first != null) {
        problems.add(
            stage.name,
            doc.line(InputReader.append(stage.path, "name")),
            "name '" + stage.name + "' is already used by the stage on line " + first.line
                + "; stage names must be unique");
      }
    }
    return byName;
  }

  private void checkInputs(StageDraft stage, Map<String, StageDraft> byName) {
    Set<String> seen = new HashSet<>();
    for (InputSpec in : stage.inputs) {
      StageDraft upstream = byName.get(in.stage());
      if (upstream == null) {
        problems.add(
            stage.label(),
            in.line(),
            "reads from '" + in.stage() + "', which is not a stage of this pipeline (stages: "
                + String.join(", ", byName.keySet()) + ")");
        continue;
      }
      if (!seen.add(in.stage() + "\u0000" + in.output())) {
        problems.add(
            stage.label(),
            in.line(),
            "reads " + describe(in) + " twice; list each input once");
      }
      if (upstream.factory == null) {
        continue; // its unknown type is reported already; nothing more to check against
      }
      if (in.mainOutput() && upstream.factory.role() == StageFactory.Role.SINK) {
        problems.add(
            stage.label(),
            in.line(),
            "reads from '" + in.stage() + "', a sink (type '" + upstream.type + "') with no main"
                + " output; only its side outputs can be read, e.g. from: {stage: " + in.stage()
                + ", output: " + OutputTag.DEAD_LETTER + "}");
      } else if (!in.mainOutput() && upstream.definition != null) {
        List<String> outputs = outputsOf(upstream);
        if (!outputs.contains(in.output())) {
          problems.add(
              stage.label(),
              in.line(),
              "reads output '" + in.output() + "' of '" + in.stage() + "', which has no such"
                  + " output (type '" + upstream.type + "' has: " + String.join(", ", outputs)
                  + ")");
        }
      }
    }
  }

  private static List<String> outputsOf(StageDraft stage) {
    List<String> outputs = new ArrayList<>();
    outputs.add(OutputTag.DEAD_LETTER);
    for (OutputTag<?, ?> tag : stage.definition.sideOutputs()) {
      if (!outputs.contains(tag.name())) {
        outputs.add(tag.name());
      }
    }
    return outputs;
  }

  /**
   * Reports each cycle once, at the first stage of the cycle in spec order, naming every stage on
   * it in the direction data flows.
   */
  private void checkCycles(List<StageDraft> stages, Map<String, StageDraft> byName) {
    Set<String> reported = new HashSet<>();
    for (StageDraft stage : stages) {
      if (stage.name == null || byName.get(stage.name) != stage || reported.contains(stage.name)) {
        continue;
      }
      List<String> readChain = shortestReadChainBackTo(stage.name, byName);
      if (readChain.isEmpty()) {
        continue;
      }
      reported.addAll(readChain);
      String next = readChain.get(1);
      int line = stage.inputs.stream()
          .filter(in -> in.stage().equals(next))
          .mapToInt(InputSpec::line)
          .findFirst()
          .orElse(stage.line);
      if (readChain.size() == 2) {
        problems.add(stage.name, line, "reads from itself; a pipeline must be acyclic");
        continue;
      }
      // The chain follows "reads from" links; data flows the other way.
      List<String> flow = new ArrayList<>(readChain);
      Collections.reverse(flow);
      problems.add(
          stage.name,
          line,
          "its inputs form a cycle: " + String.join(" -> ", flow) + " (data flows along the"
              + " arrows); a pipeline must be acyclic");
    }
  }

  /** [start, u, …, start] following "reads from" links, or empty when start is on no cycle. */
  private static List<String> shortestReadChainBackTo(
      String start, Map<String, StageDraft> byName) {
    Map<String, String> parent = new HashMap<>();
    Deque<String> queue = new ArrayDeque<>();
    queue.add(start);
    while (!queue.isEmpty()) {
      String current = queue.poll();
      for (InputSpec in : byName.get(current).inputs) {
        String up = in.stage();
        if (!byName.containsKey(up)) {
          continue;
        }
        if (up.equals(start)) {
          List<String> chain = new ArrayList<>();
          chain.add(start);
          for (String s = current; s != null; s = parent.get(s)) {
            chain.add(1, s);
          }
          // chain is now [start, start, ...]; rebuild as start → … → current → start
          chain.remove(0);
          chain.add(start);
          return chain;
        }
        if (!parent.containsKey(up) && !up.equals(start)) {
          parent.put(up, current);
          queue.add(up);
        }
      }
    }
    return List.of();
  }

  private static String describe(InputSpec in) {
    return in.mainOutput()
        ? "'" + in.stage() + "'"
        : "output '" + in.output() + "' of '" + in.stage() + "'";
  }
}
