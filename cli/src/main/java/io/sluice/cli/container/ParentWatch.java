package io.sluice.cli.container;

import java.io.PrintWriter;

/**
 * Makes a child process exit when the process that launched it is gone, so a launcher that is
 * killed (or a test JVM that crashes) leaves no orphans holding ports. The exit runs the shutdown
 * hooks, so the child still closes cleanly.
 */
final class ParentWatch {
  private ParentWatch() {}

  /** Exits this JVM with code 1 once the process {@code pid} has ended (at once if it has). */
  static void exitWhenGone(long pid, String what, PrintWriter err) {
    ProcessHandle.of(pid)
        .ifPresentOrElse(
            parent ->
                parent
                    .onExit()
                    .thenRun(
                        () -> {
                          err.println(
                              what + ": the launching process " + pid + " exited; stopping");
                          err.flush();
                          System.exit(1);
                        }),
            () -> {
              err.println(what + ": the launching process " + pid + " is gone; stopping");
              err.flush();
              System.exit(1);
            });
  }
}
