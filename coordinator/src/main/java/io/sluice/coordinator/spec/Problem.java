package io.sluice.coordinator.spec;

import java.util.Objects;

/**
 * One thing wrong with a pipeline spec. Immutable.
 *
 * @param stage the stage it concerns; {@code ""} for the pipeline as a whole
 * @param line the 1-based line in the spec file it concerns
 * @param message what is wrong and, where it helps, how to fix it
 */
public record Problem(String stage, int line, String message) {
  public Problem {
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(message, "message");
  }

  /** {@code FILE:LINE: stage 'NAME': MESSAGE}, or without the stage part for pipeline problems. */
  public String format(String fileName) {
    String where = stage.isEmpty() ? "" : "stage '" + stage + "': ";
    return fileName + ":" + line + ": " + where + message;
  }
}
