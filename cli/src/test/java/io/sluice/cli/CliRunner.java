package io.sluice.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs {@code sluice} in this JVM and captures what it prints. */
public final class CliRunner {
  /** What a run returned and printed. */
  public record Result(int exitCode, String out, String err) {}

  private CliRunner() {}

  public static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString(), err.toString());
  }
}
