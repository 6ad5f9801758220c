package io.sluice.coordinator.spec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Collects the problems of one spec while it is read. Confined to the loading thread. */
final class Problems {
  private final List<Problem> problems = new ArrayList<>();

  void add(String stage, int line, String message) {
    problems.add(new Problem(stage, line, message));
  }

  boolean isEmpty() {
    return problems.isEmpty();
  }

  /** The problems by line; problems on one line keep the order they were found in. */
  List<Problem> sorted() {
    List<Problem> sorted = new ArrayList<>(problems);
    sorted.sort(Comparator.comparingInt(Problem::line));
    return sorted;
  }
}
