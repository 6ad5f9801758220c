package io.sluice.coordinator.spec;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A pipeline spec that cannot run. Carries every problem found, not just the first; the message
 * lists them one per line as {@code FILE:LINE: stage 'NAME': what is wrong}. Immutable.
 */
public final class SpecException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String fileName;
  private final List<Problem> problems;

  public SpecException(String fileName, List<Problem> problems) {
    super(format(fileName, problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a SpecException needs at least one problem");
    }
    this.fileName = fileName;
    this.problems = List.copyOf(problems);
  }

  /** The spec's file name as the messages show it. */
  public String fileName() {
    return fileName;
  }

  /** Every problem, ordered by line. */
  public List<Problem> problems() {
    return problems;
  }

  private static String format(String fileName, List<Problem> problems) {
    return problems.stream().map(p -> p.format(fileName)).collect(Collectors.joining("\n"));
  }
}
