package io.sluice.runtime.checkpoint;

import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CheckpointFiles.Frame;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The default {@link CheckpointStore}: a directory per pipeline, on a local disk or a volume that
 * every process of the pipeline mounts.
 *
 * <p>Layout under the root: checkpoint n in {@code chk-<n>/}, savepoint n in {@code
 * savepoint-<n>/}; in each, one {@code <instance-id>.state} per instance and the coordinator's
 * {@code _metadata}. Checkpoint numbers are unique across both kinds. A {@link StateHandle#getUri()
 * handle's uri} is the file's path relative to the root with {@code /} separators ({@code
 * chk-5/count-0.state}), so a savepoint folder can be moved elsewhere (keeping its name) and read
 * with {@link #forSavepoint}. Files are framed, checksummed and written atomically by {@link
 * CheckpointFiles}; leftover temporary files ({@code .*.tmp}) are never read and are removed by
 * {@link #retain} and {@link #discard}.
 *
 * <p>A checkpoint is complete when its {@code _metadata} reads; it is intact when, in addition,
 * every state file its handles name has the handle's size and checksum and an intact frame.
 *
 * <p>Threading: thread-safe. The store holds no mutable state; all of it is in the file system.
 * Instances may write their state files concurrently from any threads and processes (each writes
 * its own file). {@link #complete}, {@link #retain} and {@link #discard} are meant for one caller,
 * the coordinator; a state file written into a checkpoint while it is being discarded may fail or
 * may be lost, which is what an abort wants anyway.
 */
public final class DirectoryCheckpointStore implements CheckpointStore {
  private static final Logger LOG = Logger.getLogger(DirectoryCheckpointStore.class.getName());

  /** The coordinator's file in a checkpoint folder. */
  public static final String METADATA = "_metadata";

  private static final String CHECKPOINT_PREFIX = "chk-";
  private static final String SAVEPOINT_PREFIX = "savepoint-";
  private static final String STATE_SUFFIX = ".state";
  // Canonical numbers only (no leading zeros), so that a folder's name and its number agree.
  private static final String NUMBER = "([1-9][0-9]{0,18})";
  private static final Pattern FOLDER = Pattern.compile("(chk|savepoint)-" + NUMBER);
  // Safe in a file name on every OS, never a temporary file (leading ".") nor "_metadata".
  private static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
  private static final Pattern STATE_URI =
      Pattern.compile("((?:chk|savepoint)-" + NUMBER + ")/([A-Za-z0-9][A-Za-z0-9._-]{0,199}\\.state)");
  private static final int DELETE_ATTEMPTS = 3;

  private final Path root;

  /** A store rooted at a pipeline's checkpoint directory, which is created on the first write. */
  public DirectoryCheckpointStore(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /**
   * A store rooted at a savepoint folder's parent, so the savepoint's handles ({@code
   * savepoint-<n>/...}) resolve wherever the folder was moved.
   *
   * @throws IllegalArgumentException if the folder is not named {@code savepoint-<n>}
   */
  public static DirectoryCheckpointStore forSavepoint(Path savepointDir) {
    Path dir = savepointDir.toAbsolutePath().normalize();
    savepointId(dir);
    return new DirectoryCheckpointStore(dir.getParent());
  }

  /**
   * Reads a savepoint's metadata and verifies it and every state file it names (size, checksum,
   * frame), wherever the folder now is.
   *
   * @throws IllegalArgumentException if the folder is not named {@code savepoint-<n>}
   * @throws NoSuchFileException if it has no {@code _metadata} (the savepoint never completed)
   * @throws CorruptCheckpointException if the metadata or a state file is missing or corrupt
   */
  public static CheckpointMetadata readSavepoint(Path savepointDir) throws IOException {
    Path dir = savepointDir.toAbsolutePath().normalize();
    return forSavepoint(dir).verifyFolder(savepointId(dir), true);
  }

  /** The pipeline directory this store is rooted at (absolute). */
  public Path root() {
    return root;
  }

  @Override
  public StateHandle writeState(
      long checkpointId,
      boolean savepoint,
      StateFileHeader header,
      List<KeyGroupState> keyGroups,
      OperatorState operatorState)
      throws IOException {
    checkId(checkpointId);
    Objects.requireNonNull(operatorState, "operatorState");
    CheckpointFiles.checkKeyGroups(header, keyGroups);
    if (header.getCheckpointId() != checkpointId) {
      throw new IllegalArgumentException(
          "state of " + header.getInstanceId() + " for checkpoint " + checkpointId
              + ": its header says checkpoint " + header.getCheckpointId());
    }
    if (!INSTANCE_ID.matcher(header.getInstanceId()).matches()) {
      throw new IllegalArgumentException(
          "instance id '" + header.getInstanceId() + "' cannot name a state file (checkpoint "
              + checkpointId + "): use letters, digits, '.', '_' and '-', not first '.'");
    }
    String folder = folderName(checkpointId, savepoint);
    Path dir = root.resolve(folder);
    ensureFolder(dir);
    String fileName = header.getInstanceId() + STATE_SUFFIX;
    Frame frame = CheckpointFiles.writeState(dir.resolve(fileName), header, keyGroups, operatorState);
    StateHandle.Builder handle =
        StateHandle.newBuilder()
            .setUri(folder + "/" + fileName)
            .setSizeBytes(frame.sizeBytes())
            .setChecksum(frame.checksum());
    if (header.hasKeyGroups()) {
      handle.setKeyGroups(header.getKeyGroups());
    }
    return handle.build();
  }

  /**
   * {@inheritDoc}
   *
   * <p>The file must be the one the handle was made for: its size and checksum must match the
   * handle's, and its header's key groups the handle's.
   *
   * @throws CorruptCheckpointException if the file is missing, corrupt or not the handle's, or the
   *     uri does not name a state file of this store
   */
  @Override
  public InstanceStateFile readState(StateHandle handle) throws IOException {
    Path file = locate(handle.getUri(), handle.getUri()).file();
    InstanceStateFile state;
    try {
      state = CheckpointFiles.readState(file, handle.getUri(), expectedFrame(handle));
    } catch (NoSuchFileException e) {
      throw new CorruptCheckpointException(handle.getUri() + ": missing (under " + root + ")", e);
    }
    if (!state.header().getKeyGroups().equals(handle.getKeyGroups())) {
      throw new CorruptCheckpointException(
          handle.getUri() + ": holds key groups " + range(state.header()) + ", its handle says "
              + "[" + handle.getKeyGroups().getStart() + ", " + handle.getKeyGroups().getEnd() + ")");
    }
    return state;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Writes {@code chk-<n>/_metadata}, or {@code savepoint-<n>/_metadata} for a savepoint.
   */
  @Override
  public void complete(CheckpointMetadata metadata) throws IOException {
    checkId(metadata.getCheckpointId());
    Path dir = root.resolve(folderName(metadata.getCheckpointId(), metadata.getSavepoint()));
    ensureFolder(dir);
    CheckpointFiles.writeMetadata(dir.resolve(METADATA), metadata);
    // The folder's own entry may still be only in memory if another process created it; the
    // checkpoint is not durably complete until it is forced.
    CheckpointFiles.fsyncDirectory(root);
  }

  /**
   * {@inheritDoc}
   *
   * <p>A checkpoint without {@code _metadata} is not complete (in flight or aborted) and is
   * skipped silently; one that fails its check is skipped with a WARNING that names it, the file
   * and the fault, and the checkpoint used instead.
   *
   * @throws UncheckedIOException on an I/O error that is not a failed check (the disk or volume
   *     cannot be read): falling back to an older checkpoint would then be wrong
   */
  @Override
  public Optional<CheckpointMetadata> latestIntact() {
    List<Long> ids = new ArrayList<>(unchecked(() -> folderIds(CHECKPOINT_PREFIX)));
    Collections.reverse(ids);
    List<String> skipped = new ArrayList<>();
    for (long id : ids) {
      CheckpointMetadata metadata;
      try {
        metadata = verifyFolder(id, false);
      } catch (NoSuchFileException e) {
        // No _metadata: not complete, so there is nothing wrong with it. (A missing state file is
        // reported as CorruptCheckpointException instead.)
        continue;
      } catch (CorruptCheckpointException e) {
        skipped.add("checkpoint " + id + " of root " + root + " is corrupt (" + e.getMessage() + ")");
        continue;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read checkpoint " + id + " of root " + root, e);
      }
      for (String s : skipped) {
        LOG.warning(s + "; falling back to checkpoint " + id);
      }
      return Optional.of(metadata);
    }
    for (String s : skipped) {
      LOG.warning(s + "; no older intact checkpoint is left");
    }
    return Optional.empty();
  }

  /**
   * {@inheritDoc}
   *
   * @throws NoSuchFileException if the checkpoint has no {@code _metadata} (it is not complete)
   * @throws CorruptCheckpointException if the metadata or a state file it names is missing,
   *     corrupt, or does not match its handle
   */
  @Override
  public CheckpointMetadata verify(long checkpointId) throws IOException {
    checkId(checkpointId);
    return verifyFolder(checkpointId, false);
  }

  /**
   * {@inheritDoc}
   *
   * @throws UncheckedIOException if the root cannot be listed
   */
  @Override
  public List<CheckpointMetadata> completed() {
    List<CheckpointMetadata> completed = new ArrayList<>();
    for (long id : unchecked(() -> folderIds(CHECKPOINT_PREFIX))) {
      readCompleteMetadata(id).ifPresent(completed::add);
    }
    return completed;
  }

  /**
   * {@inheritDoc}
   *
   * @throws UncheckedIOException if the root cannot be listed
   */
  @Override
  public long highestCheckpointId() {
    long highest = 0;
    for (long id : unchecked(() -> folderIds(null))) {
      highest = Math.max(highest, id);
    }
    return highest;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Deletes {@code chk-<n>/}, and {@code savepoint-<n>/} if it has no {@code _metadata} (an
   * aborted savepoint: nothing else would ever remove it). A completed savepoint is never deleted.
   * Nothing to delete is not an error.
   */
  @Override
  public void discard(long checkpointId) throws IOException {
    checkId(checkpointId);
    deleteFolder(root.resolve(folderName(checkpointId, false)));
    Path savepoint = root.resolve(folderName(checkpointId, true));
    if (Files.isDirectory(savepoint) && !Files.exists(savepoint.resolve(METADATA))) {
      deleteFolder(savepoint);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Complete means the metadata reads; state files are not read here. Incomplete checkpoints
   * newer than the newest complete one are left alone (they may be in flight), as are savepoints.
   * Temporary files left in the kept complete checkpoints are removed.
   *
   * @throws IllegalArgumentException if {@code keep < 1}: there must stay something to restore
   */
  @Override
  public void retain(int keep) throws IOException {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1, not " + keep);
    }
    List<Long> ids = folderIds(CHECKPOINT_PREFIX);
    List<Long> complete = new ArrayList<>();
    for (long id : ids) {
      if (readCompleteMetadata(id).isPresent()) {
        complete.add(id);
      }
    }
    if (complete.isEmpty()) {
      return;
    }
    long newestComplete = complete.get(complete.size() - 1);
    Set<Long> kept = new HashSet<>(complete.subList(Math.max(0, complete.size() - keep), complete.size()));
    for (long id : ids) {
      Path dir = root.resolve(folderName(id, false));
      if (kept.contains(id)) {
        deleteTemporaryFiles(dir);
      } else if (id < newestComplete) {
        deleteFolder(dir);
      }
    }
  }

  @Override
  public String toString() {
    return "DirectoryCheckpointStore[" + root + "]";
  }

  private static void checkId(long checkpointId) {
    if (checkpointId < 1) {
      throw new IllegalArgumentException("checkpoint ids start at 1, not " + checkpointId);
    }
  }

  private static String folderName(long checkpointId, boolean savepoint) {
    return (savepoint ? SAVEPOINT_PREFIX : CHECKPOINT_PREFIX) + checkpointId;
  }

  private static long savepointId(Path dir) {
    Path name = dir.getFileName();
    Matcher m = name == null ? null : FOLDER.matcher(name.toString());
    if (m == null || !m.matches() || !m.group(1).equals("savepoint") || dir.getParent() == null) {
      throw new IllegalArgumentException(
          dir + " is not a savepoint folder: it must be named savepoint-<n> as the coordinator "
              + "wrote it, since its state handles name their files as savepoint-<n>/...");
    }
    return Long.parseLong(m.group(2));
  }

  private record Location(String folder, Path file) {}

  /** Resolves a handle's uri, refusing anything that is not a state file under the root. */
  private Location locate(String uri, String context) throws CorruptCheckpointException {
    Matcher m = STATE_URI.matcher(uri);
    if (!m.matches()) {
      throw new CorruptCheckpointException(
          context + ": state handle uri '" + uri + "' does not name a state file "
              + "(<chk|savepoint>-<n>/<instance-id>.state)");
    }
    return new Location(m.group(1), root.resolve(m.group(1)).resolve(m.group(3)));
  }

  private static Frame expectedFrame(StateHandle handle) {
    return new Frame(handle.getSizeBytes(), handle.getChecksum());
  }

  private static String range(StateFileHeader header) {
    return "[" + header.getKeyGroups().getStart() + ", " + header.getKeyGroups().getEnd() + ")";
  }

  /** Verifies a folder's metadata and every state file it names; see {@link #verify}. */
  private CheckpointMetadata verifyFolder(long id, boolean savepoint) throws IOException {
    String folder = folderName(id, savepoint);
    String metadataName = folder + "/" + METADATA;
    CheckpointMetadata metadata = readMetadata(id, savepoint);
    for (StageCheckpoint stage : metadata.getStagesList()) {
      for (StateHandle handle : stage.getStateList()) {
        Location location = locate(handle.getUri(), metadataName);
        // Each checkpoint owns its files, so retain and discard can delete a folder whole.
        if (!location.folder().equals(folder)) {
          throw new CorruptCheckpointException(
              metadataName + ": state handle " + handle.getUri() + " of stage " + stage.getStage()
                  + " is outside " + folder + "/");
        }
        try {
          CheckpointFiles.verify(location.file(), handle.getUri(), expectedFrame(handle));
        } catch (NoSuchFileException e) {
          throw new CorruptCheckpointException(
              handle.getUri() + ": missing (named by " + metadataName + ", stage " + stage.getStage()
                  + ")",
              e);
        }
      }
    }
    return metadata;
  }

  /**
   * Reads a folder's metadata and checks that it describes that folder.
   *
   * @throws NoSuchFileException if there is no metadata
   */
  private CheckpointMetadata readMetadata(long id, boolean savepoint) throws IOException {
    String folder = folderName(id, savepoint);
    String name = folder + "/" + METADATA;
    CheckpointMetadata metadata = CheckpointFiles.readMetadata(root.resolve(folder).resolve(METADATA), name);
    if (metadata.getCheckpointId() != id) {
      throw new CorruptCheckpointException(
          name + ": describes checkpoint " + metadata.getCheckpointId() + ", not " + id);
    }
    if (metadata.getSavepoint() != savepoint) {
      throw new CorruptCheckpointException(
          name + ": a " + (metadata.getSavepoint() ? "savepoint's" : "checkpoint's")
              + " metadata in a " + (savepoint ? "savepoint" : "checkpoint") + " folder");
    }
    return metadata;
  }

  /** The checkpoint's metadata if it is complete; empty if it is not, or its metadata is bad. */
  private Optional<CheckpointMetadata> readCompleteMetadata(long id) {
    try {
      return Optional.of(readMetadata(id, false));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      // Not complete for listing and pruning; latestIntact() is where corruption is reported.
      LOG.log(Level.FINE, "checkpoint " + id + " of root " + root + " does not count as complete", e);
      return Optional.empty();
    }
  }

  /**
   * The numbers of the root's checkpoint folders with the given prefix (both kinds if null),
   * ascending. A missing root has none.
   */
  private List<Long> folderIds(String prefix) throws IOException {
    TreeSet<Long> ids = new TreeSet<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      for (Path entry : entries) {
        Matcher m = FOLDER.matcher(entry.getFileName().toString());
        if (m.matches()
            && (prefix == null || prefix.equals(m.group(1) + "-"))
            && Files.isDirectory(entry)) {
          try {
            ids.add(Long.parseLong(m.group(2)));
          } catch (NumberFormatException e) {
            // Beyond a long: not a folder this store wrote.
          }
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return List.copyOf(ids);
  }

  /** Creates a checkpoint folder if needed, and makes its entry (and the root's) durable. */
  private void ensureFolder(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    boolean rootExisted = Files.isDirectory(root);
    Files.createDirectories(dir);
    if (!rootExisted && root.getParent() != null) {
      CheckpointFiles.fsyncDirectory(root.getParent());
    }
    CheckpointFiles.fsyncDirectory(root);
  }

  private static void deleteTemporaryFiles(Path dir) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (CheckpointFiles.isTemporary(entry.getFileName().toString())) {
          Files.deleteIfExists(entry);
        }
      }
    } catch (NoSuchFileException e) {
      // Deleted meanwhile: nothing left to clean.
    }
  }

  /**
   * Deletes a checkpoint folder. {@code _metadata} goes first and durably, so a crash midway
   * leaves an incomplete checkpoint (pruned later) rather than a complete one missing files.
   */
  private void deleteFolder(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    if (Files.deleteIfExists(dir.resolve(METADATA))) {
      CheckpointFiles.fsyncDirectory(dir);
    }
    for (int attempt = 1; ; attempt++) {
      try {
        deleteRecursively(dir);
        break;
      } catch (DirectoryNotEmptyException e) {
        // A late instance wrote into the folder while it was being deleted: go again.
        if (attempt == DELETE_ATTEMPTS) {
          throw e;
        }
      }
    }
    CheckpointFiles.fsyncDirectory(root);
  }

  private static void deleteRecursively(Path dir) throws IOException {
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            Files.deleteIfExists(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
            if (e instanceof NoSuchFileException) {
              return FileVisitResult.CONTINUE; // deleted by someone else meanwhile
            }
            throw e;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            if (e != null && !(e instanceof NoSuchFileException)) {
              throw e;
            }
            Files.deleteIfExists(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  @FunctionalInterface
  private interface IoSupplier<T> {
    T get() throws IOException;
  }

  private static <T> T unchecked(IoSupplier<T> supplier) {
    try {
      return supplier.get();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
