package io.sluice.cli;

/** The exit codes every {@code sluice} command uses. */
public final class ExitCodes {
  /** Done as asked. */
  public static final int OK = 0;

  /** Something failed at run time: a stream broke, a process died, a check did not hold. */
  public static final int FAILURE = 1;

  /** Bad usage or bad input (options, a pipeline spec, an event line); nothing was lost. */
  public static final int USAGE = 2;

  private ExitCodes() {}
}
