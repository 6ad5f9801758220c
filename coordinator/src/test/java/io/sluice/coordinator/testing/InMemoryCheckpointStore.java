package io.sluice.coordinator.testing;

import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CheckpointStore;
import io.sluice.runtime.checkpoint.CorruptCheckpointException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A {@link CheckpointStore} in memory, for coordinator tests. It keeps the interface's contract
 * as a directory store would: a checkpoint is complete once its metadata is stored; {@link
 * #latestIntact} and {@link #verify} skip or refuse what a test marked corrupt ({@link
 * #corruptMetadata}: the metadata no longer reads; {@link #corruptState}: a state file of it
 * fails its check); {@link #highestCheckpointId} counts every number with anything stored, as a
 * directory listing would; savepoints live apart and are never pruned. It also records the calls
 * a test checks ({@link #retainCalls}, {@link #discarded}).
 *
 * <p>Thread-safe: every method holds the store's monitor.
 */
public final class InMemoryCheckpointStore implements CheckpointStore {
  private final TreeMap<Long, CheckpointMetadata> checkpoints = new TreeMap<>();
  private final TreeMap<Long, CheckpointMetadata> savepoints = new TreeMap<>();
  /** State files by uri ("chk-3/in-0.state"). */
  private final Map<String, InstanceStateFile> files = new HashMap<>();
  private final Set<Long> corruptMetadata = new HashSet<>();
  private final Set<Long> corruptState = new HashSet<>();
  private final List<Integer> retainCalls = new ArrayList<>();
  private final List<Long> discarded = new ArrayList<>();

  /** Stores a completed checkpoint as an earlier run would have left it. */
  public synchronized InMemoryCheckpointStore with(CheckpointMetadata metadata) {
    (metadata.getSavepoint() ? savepoints : checkpoints).put(metadata.getCheckpointId(), metadata);
    return this;
  }

  /** Makes checkpoint {@code id}'s metadata unreadable, as a torn write would. */
  public synchronized void corruptMetadata(long id) {
    corruptMetadata.add(id);
  }

  /** Makes one of checkpoint {@code id}'s state files fail its checksum. */
  public synchronized void corruptState(long id) {
    corruptState.add(id);
  }

  /** The {@code keep} of every {@link #retain} call, in order. */
  public synchronized List<Integer> retainCalls() {
    return List.copyOf(retainCalls);
  }

  /** The numbers {@link #discard} was called with, in order. */
  public synchronized List<Long> discarded() {
    return List.copyOf(discarded);
  }

  /** The stored metadata of checkpoint {@code id}, if complete. */
  public synchronized Optional<CheckpointMetadata> checkpoint(long id) {
    return Optional.ofNullable(checkpoints.get(id));
  }

  /** The stored metadata of savepoint {@code id}, if complete. */
  public synchronized Optional<CheckpointMetadata> savepoint(long id) {
    return Optional.ofNullable(savepoints.get(id));
  }

  @Override
  public synchronized StateHandle writeState(
      long checkpointId,
      boolean savepoint,
      StateFileHeader header,
      List<KeyGroupState> keyGroups,
      OperatorState operatorState) {
    String uri = (savepoint ? "savepoint-" : "chk-") + checkpointId + "/" + header.getInstanceId()
        + ".state";
    files.put(uri, new InstanceStateFile(header, List.copyOf(keyGroups), operatorState));
    return StateHandle.newBuilder()
        .setUri(uri)
        .setKeyGroups(header.getKeyGroups())
        .setSizeBytes(operatorState.getSerializedSize())
        .build();
  }

  @Override
  public synchronized InstanceStateFile readState(StateHandle handle) throws IOException {
    InstanceStateFile file = files.get(handle.getUri());
    if (file == null) {
      throw new IOException("no state file " + handle.getUri());
    }
    return file;
  }

  @Override
  public synchronized void complete(CheckpointMetadata metadata) {
    (metadata.getSavepoint() ? savepoints : checkpoints).put(metadata.getCheckpointId(), metadata);
  }

  @Override
  public synchronized Optional<CheckpointMetadata> latestIntact() {
    for (CheckpointMetadata meta : checkpoints.descendingMap().values()) {
      if (intact(meta.getCheckpointId())) {
        return Optional.of(meta);
      }
    }
    return Optional.empty();
  }

  @Override
  public synchronized CheckpointMetadata verify(long checkpointId) throws IOException {
    CheckpointMetadata meta = checkpoints.get(checkpointId);
    if (meta == null) {
      throw new NoSuchFileException("chk-" + checkpointId + "/_metadata");
    }
    if (corruptMetadata.contains(checkpointId)) {
      throw new CorruptCheckpointException("chk-" + checkpointId + "/_metadata: checksum mismatch");
    }
    if (corruptState.contains(checkpointId)) {
      String file = meta.getStagesList().stream()
          .flatMap(s -> s.getStateList().stream())
          .map(StateHandle::getUri)
          .findFirst()
          .orElse("chk-" + checkpointId + "/?.state");
      throw new CorruptCheckpointException(file + ": checksum mismatch");
    }
    return meta;
  }

  @Override
  public synchronized List<CheckpointMetadata> completed() {
    return checkpoints.values().stream()
        .filter(m -> !corruptMetadata.contains(m.getCheckpointId()))
        .toList();
  }

  @Override
  public synchronized long highestCheckpointId() {
    return Stream.of(
            checkpoints.keySet().stream(),
            savepoints.keySet().stream(),
            files.keySet().stream().map(InMemoryCheckpointStore::idOf))
        .flatMap(s -> s)
        .mapToLong(Long::longValue)
        .max()
        .orElse(0);
  }

  @Override
  public synchronized void discard(long checkpointId) {
    discarded.add(checkpointId);
    checkpoints.remove(checkpointId);
    files.keySet().removeIf(uri -> idOf(uri) == checkpointId && uri.startsWith("chk-"));
  }

  @Override
  public synchronized void retain(int keep) {
    retainCalls.add(keep);
    List<Long> complete = new ArrayList<>(checkpoints.keySet());
    List<Long> drop = complete.subList(0, Math.max(0, complete.size() - keep));
    drop.forEach(checkpoints::remove);
    long newest = checkpoints.isEmpty() ? 0 : checkpoints.lastKey();
    // Pruned ones, and incomplete ones older than the newest complete one.
    files.keySet().removeIf(uri -> uri.startsWith("chk-") && (drop.contains(idOf(uri))
        || (idOf(uri) < newest && !checkpoints.containsKey(idOf(uri)))));
  }

  private boolean intact(long id) {
    return !corruptMetadata.contains(id) && !corruptState.contains(id);
  }

  private static long idOf(String uri) {
    String folder = uri.substring(0, uri.indexOf('/'));
    return Long.parseLong(folder.substring(folder.indexOf('-') + 1));
  }

  /** A handle as an instance would ack it, for tests that do not write state. */
  public static StateHandle handle(
      long checkpointId, String instanceId, int from, int to, long size) {
    return StateHandle.newBuilder()
        .setUri("chk-" + checkpointId + "/" + instanceId + ".state")
        .setKeyGroups(KeyGroupRange.newBuilder().setStart(from).setEnd(to))
        .setSizeBytes(size)
        .build();
  }

  /** The handles of one stage in some metadata. */
  public static List<StateHandle> handles(CheckpointMetadata meta, String stage) {
    return meta.getStagesList().stream()
        .filter(s -> s.getStage().equals(stage))
        .map(StageCheckpoint::getStateList)
        .findFirst()
        .orElse(List.of());
  }
}
