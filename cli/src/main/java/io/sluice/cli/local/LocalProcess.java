package io.sluice.cli.local;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One OS process a {@link LocalLauncher} started: the coordinator or one stage replica. Immutable
 * (the {@link Process} itself is live).
 *
 * @param instance the launcher's name for it: {@code coordinator}, or {@code <stage>-<index>}
 * @param stage the stage's name; empty for the coordinator
 * @param index the replica index; -1 for the coordinator
 * @param process the running (or exited) process
 * @param log the file its standard output and error go to
 */
public record LocalProcess(String instance, String stage, int index, Process process, Path log) {
  /** The coordinator's instance name. */
  public static final String COORDINATOR = "coordinator";

  public LocalProcess {
    Objects.requireNonNull(instance, "instance");
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(process, "process");
    Objects.requireNonNull(log, "log");
  }

  /** The name a replica of {@code stage} with {@code index} gets: {@code <stage>-<index>}. */
  public static String instanceName(String stage, int index) {
    return stage + "-" + index;
  }

  public ProcessHandle handle() {
    return process.toHandle();
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public boolean isCoordinator() {
    return stage.isEmpty();
  }
}
