package io.sluice.stages.format;

/**
 * A line that is not a valid Sluice JSON-lines event. The message starts with {@code line N:} and
 * says what is wrong, so a command can print it as is. Immutable.
 */
public class JsonLinesException extends RuntimeException {
  private final long lineNumber;
  private final String problem;

  public JsonLinesException(long lineNumber, String problem) {
    this(lineNumber, problem, null);
  }

  public JsonLinesException(long lineNumber, String problem, Throwable cause) {
    super("line " + lineNumber + ": " + problem, cause);
    this.lineNumber = lineNumber;
    this.problem = problem;
  }

  /** The 1-based number of the offending line. */
  public long lineNumber() {
    return lineNumber;
  }

  /** What is wrong, without the line number. */
  public String problem() {
    return problem;
  }
}
