package io.sluice.stages.sink;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code type: file-sink}: writes every event it receives as one JSON line ({@link
 * io.sluice.stages.format.JsonLines}) to a file.
 *
 * <pre>
 * path: out/per-user.jsonl   # required; relative to the spec file's folder
 * flush: 100ms               # optional (default 100ms): how often buffered lines reach the file
 * append: false              # optional (default false): keep the file's old lines
 * </pre>
 *
 * <p>Lines look like {@code {"id": "e1", "key": "user-7", "time": 1767225600000, "payload": {...}}},
 * plus {@code "error": "..."} for a dead letter; a payload that is not JSON is written as a JSON
 * string. The parent folder is created. Lines are buffered and flushed every {@code flush} and
 * when the stage closes; the runtime closes a stage only after all its inputs have ended, so after
 * a clean drain the file is complete.
 *
 * <p>Replicas: instance 0 writes {@code path} itself; instance {@code i > 0} writes {@code
 * <stem>-<i>.<ext>} beside it ({@link #replicaPath}), e.g. {@code out/per-user-1.jsonl}, so
 * replicas never share a file. Two operators of one instance (two subtasks) cannot tell their
 * files apart, so the second to open a file in the same process fails rather than interleaving
 * lines.
 *
 * <p>Checkpoints: with them on, the sink commits in two phases and the target holds each line
 * exactly once, committed when its checkpoint completes (and at the end of the input); the lines
 * before the first barrier are the exception. See {@code FileSinkOperator} for the protocol, the
 * files it keeps beside the target ({@code .<name>.commit}, {@code .<name>.pending-<n>}) and the
 * limitation.
 *
 * <p>Stateless and thread-safe; each operator it makes is confined to its subtask's thread.
 */
public final class FileSinkStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "file-sink";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Role role() {
    return Role.SINK;
  }

  @Override
  public StageDefinition<String, byte[], byte[], byte[]> create(StageConfig config) {
    Path path;
    try {
      path = config.path("path");
    } catch (InvalidPathException e) {
      throw new ConfigException("path", "'path' is not a valid file path: " + e.getMessage());
    }
    if (Files.isDirectory(path)) {
      throw new ConfigException(
          "path", "'path' is the folder " + path + "; name a file in it, e.g. " + path.resolve("out.jsonl"));
    }
    Duration flush = SinkSettings.flushInterval(config);
    boolean append = config.bool("append", false);
    return StageDefinition.of(
        Serdes.string(),
        Serdes.bytes(),
        Serdes.bytes(),
        Serdes.bytes(),
        () -> new FileSinkOperator(path, append, flush, config.checkpointing()));
  }

  /**
   * The file replica {@code index} of a file sink writes: {@code path} for 0, else {@code
   * <stem>-<index>.<ext>} (or {@code <name>-<index>} when the name has no extension).
   */
  public static Path replicaPath(Path path, int index) {
    if (index < 0) {
      throw new IllegalArgumentException("a replica index is >= 0, got " + index);
    }
    if (index == 0) {
      return path;
    }
    String name = path.getFileName().toString();
    int dot = name.lastIndexOf('.');
    // dot > 0: a leading dot (".events") marks a hidden file, not an extension.
    String replica = dot > 0 ? name.substring(0, dot) + "-" + index + name.substring(dot) : name + "-" + index;
    return path.resolveSibling(replica);
  }
}
