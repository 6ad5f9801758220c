package io.sluice.cli.send;

import java.util.Optional;

/**
 * An input line (or record) that is not a valid event. Its message names the input and the line,
 * like a compiler's: {@code events.jsonl:17: ...}.
 *
 * <p>When thrown by {@link Publisher#publish}, everything read before the bad input was sent and
 * acknowledged, and {@link #sentBefore()} says how much that was.
 */
public final class BadInputException extends Exception {
  private static final long serialVersionUID = 1L;

  private final long lineNumber;
  private final transient PublishSummary sentBefore;

  /**
   * @param message names the input and the line, e.g. {@code events.jsonl:17: bad JSON: ...}
   * @param lineNumber the 1-based line, or 0 when the input has no lines
   */
  public BadInputException(String message, long lineNumber, Throwable cause) {
    this(message, lineNumber, cause, null);
  }

  private BadInputException(
      String message, long lineNumber, Throwable cause, PublishSummary sentBefore) {
    super(message, cause);
    this.lineNumber = lineNumber;
    this.sentBefore = sentBefore;
  }

  /** The 1-based line of the bad input, or 0 when the input has no lines. */
  public long lineNumber() {
    return lineNumber;
  }

  /** What was sent and acked before the bad input, once the publisher has waited for the acks. */
  public Optional<PublishSummary> sentBefore() {
    return Optional.ofNullable(sentBefore);
  }

  BadInputException withSentBefore(PublishSummary summary) {
    return new BadInputException(getMessage(), lineNumber, getCause(), summary);
  }
}
