package io.sluice.stages.sink;

import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StateRestore;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.stages.format.JsonLines;
import io.sluice.stages.internal.StateBytes;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator of a {@code file-sink} stage (see {@link FileSinkStageFactory}): one JSON line per
 * record into the instance's target file, written straight to it while checkpoints are off, and
 * in two-phase-commit transactions once they are on (docs/checkpoints.md, "Two-phase-commit
 * sinks").
 *
 * <p><b>Without checkpoints</b> lines are buffered, written to the target every {@code flush} and
 * when the stage closes. The target is opened (created) in {@link #init}, and emptied (unless
 * {@code append}) when the first line, flush or close comes: not in {@code init}, because a
 * restore, which follows {@code init}, must keep what earlier transactions committed.
 *
 * <p><b>With checkpoints</b> the lines after barrier n-1 go to a pending file beside the target,
 * {@code .<name>.pending-<k>}, k being one more than the checkpoint before it (n itself, unless
 * checkpoints were aborted in between), and:
 *
 * <ul>
 *   <li>{@link #snapshotState}(n) flushes and forces it, records it as transaction n in the
 *       operator-wide state (with every transaction not committed yet and the target's length once
 *       they are, {@link TransactionLog}), and the next line starts a new one;
 *   <li>{@link #checkpointComplete}(m) commits every transaction up to m, oldest first, into the
 *       target ({@link TargetFile}: cut back to the committed length, append, force, replace the
 *       {@code .<name>.commit} marker atomically, delete the pending file). Committing is
 *       idempotent: a transaction at or below the marker's is skipped;
 *   <li>{@link #restoreState} commits what the restored state lists (that checkpoint completed),
 *       takes back what was committed after it, cuts off uncommitted bytes and deletes leftover
 *       pending files (the run after the checkpoint is replayed);
 *   <li>{@link #close()} at the end of the input commits what is left, including the lines after
 *       the last barrier: the input ended cleanly, so everything reached the sink. Should the
 *       pipeline be restored from an earlier checkpoint after all, that restore takes them back.
 * </ul>
 *
 * <p>The target thus only ever holds committed transactions, except for the limitation below.
 *
 * <p><b>Which instance commits what after a rescale.</b> Each snapshot also writes a keyed entry
 * under the key {@code target-<instance>}. After a restore exactly one instance owns that key's
 * key group, at any parallelism, and that instance commits the transactions of that target (from
 * the operator-wide entries, which every instance receives): so after a scale-in the removed
 * instances' transactions are committed too, each target by one instance only, without knowing
 * the new parallelism. A target no restored state speaks for is settled by its own writer.
 *
 * <p><b>Knowing that checkpoints are on.</b> The runtime says so ({@link
 * io.sluice.runtime.api.StageConfig#checkpointing()}): a fresh start then writes transactions from
 * its first line. Without the flag (the test kit, or a runtime that does not set it) the sink
 * learns it only at the first barrier: until then it writes straight to the target, and at the
 * first {@code snapshotState} those lines become the first transaction "in place" (a marker notes
 * the target's length before them; a restore to before that checkpoint cuts them off again).
 *
 * <p>{@link #dispose()} (a restore inside a live process) closes the files and gives the target
 * up without committing anything.
 *
 * <p>Threading: confined to its subtask's thread. Two operators in one process may not write one
 * target (see {@link FileSinkStageFactory}).
 */
final class FileSinkOperator implements Operator<String, byte[], byte[], byte[]> {
  // Targets written by an operator of this process, so two never write one file.
  private static final Set<Path> CLAIMED = ConcurrentHashMap.newKeySet();
  private static final int TOKEN_VERSION = 1;

  /** Whether lines go straight to the target or into transactions. */
  private enum Mode {
    /** Nothing written yet; the target is open, unchanged. */
    UNDECIDED,
    /** No checkpoint so far: straight to the target. */
    DIRECT,
    /** Checkpoints are on: into pending files, committed on completion. */
    TRANSACTIONAL
  }

  private final Path path;
  private final boolean append;
  private final Duration flushInterval;
  private final boolean checkpointing;

  private OperatorContext<byte[], byte[]> context;
  private TargetFile own;
  private boolean claimed;
  private Mode mode = Mode.UNDECIDED;
  private FileChannel channel; // the target while UNDECIDED or DIRECT
  private Writer direct; // DIRECT: lines to the target
  private long directStart; // DIRECT: the target's length before the first line
  // TRANSACTIONAL
  private final List<Transaction> precommitted = new ArrayList<>(); // oldest first
  private long lastCheckpoint; // snapshotted or restored; names the next pending file
  private PendingFile pending; // the open transaction; null before its first line

  /**
   * @param path the configured path: replica 0's target; replica i writes {@link
   *     FileSinkStageFactory#replicaPath}
   * @param append whether a fresh start keeps the target's content
   * @param flushInterval how often buffered lines are written out
   */
  FileSinkOperator(Path path, boolean append, Duration flushInterval) {
    this(path, append, flushInterval, false);
  }

  /**
   * @param checkpointing whether the pipeline checkpoints: then a fresh start writes into
   *     transactions from its first line, and nothing is visible before it is committed
   */
  FileSinkOperator(Path path, boolean append, Duration flushInterval, boolean checkpointing) {
    this.checkpointing = checkpointing;
    this.path = path;
    this.append = append;
    this.flushInterval = flushInterval;
  }

  @Override
  public void init(OperatorContext<byte[], byte[]> context) {
    this.context = context;
    Path file = target(context.instanceIndex());
    if (!CLAIMED.add(file)) {
      throw new IllegalStateException(
          "file-sink " + context.instanceId() + ": " + file + " is already being written by another operator"
              + " in this process (two subtasks of one instance?); give each stage its own path");
    }
    claimed = true;
    own = new TargetFile(file);
    try {
      Path parent = file.getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException | RuntimeException e) {
      release();
      throw new UncheckedIOException(
          "sink " + context.instanceId() + " cannot open its output: " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
    context.schedule(flushInterval, this::flush);
  }

  // ---------------------------------------------------------------- lines

  @Override
  public void process(Record<String, byte[]> record) {
    String line = JsonLines.format(record.id(), record.key(), record.timestamp(), record.value(), record.attributes());
    try {
      Writer out = switch (mode) {
        case UNDECIDED -> checkpointing ? startTransactions() : startDirect();
        case DIRECT -> direct;
        case TRANSACTIONAL -> pendingWriter();
      };
      out.write(line);
      out.write('\n');
    } catch (IOException e) {
      // Thrown from process(): the runtime dead-letters the event with this message.
      throw new UncheckedIOException("cannot write " + own + ": " + e.getMessage(), e);
    }
  }

  private void flush() {
    try {
      switch (mode) {
        case UNDECIDED -> {
          // With checkpoints nothing happens before the first line: a Restore may still come
          // (a process starting into a restore), and it must find the target as committed.
          if (!checkpointing) {
            startDirect().flush();
          }
        }
        case DIRECT -> direct.flush();
        case TRANSACTIONAL -> {
          if (pending != null) {
            pending.writer.flush();
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot flush " + own + ": " + e.getMessage(), e);
    }
  }

  /** Empties the target unless appending, and writes to it from now on. */
  private Writer startDirect() throws IOException {
    // A fresh run: a marker or pending files an earlier checkpointed run left mean nothing now.
    own.forgetEarlierRun();
    if (!append) {
      channel.truncate(0);
    }
    directStart = channel.size();
    channel.position(directStart);
    direct = new BufferedWriter(Channels.newWriter(channel, StandardCharsets.UTF_8));
    mode = Mode.DIRECT;
    return direct;
  }

  /** A fresh start with checkpoints on: the target as a fresh run leaves it, then transactions. */
  private Writer startTransactions() throws IOException {
    startDirect();
    beginTransactions(lastCheckpoint);
    return pendingWriter();
  }

  private Writer pendingWriter() throws IOException {
    if (pending == null) {
      pending = PendingFile.create(own.pendingPath(lastCheckpoint));
    }
    return pending.writer;
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * Ends the current transaction as transaction {@code n} (flushed and forced, not yet visible),
   * and writes the transactions not committed yet to the operator-wide state, with the key that
   * decides which instance commits them after a restore (see the class comment). The first call
   * switches the sink to transactions.
   */
  @Override
  public void snapshotState(StateSnapshot<String> snapshot) {
    long n = snapshot.checkpointId();
    try {
      switch (mode) {
        case UNDECIDED -> {
          startDirect();
          beginTransactions(n);
        }
        case DIRECT -> beginTransactions(n);
        case TRANSACTIONAL -> {
          if (pending != null) {
            precommitted.add(pending.finish(n));
            pending = null;
          }
        }
      }
      lastCheckpoint = n;
      long length = own.committed().length();
      for (Transaction t : precommitted) {
        length += t.length();
      }
      int index = context.instanceIndex();
      snapshot.putOperator(new TransactionLog(index, length, precommitted).encode());
      snapshot.putKeyed(tokenKey(index), StateBytes.write(TOKEN_VERSION, out -> out.writeInt(index)));
    } catch (IOException e) {
      throw new UncheckedIOException("file-sink " + context.instanceId() + ": cannot pre-commit transaction " + n
          + " of " + own + ": " + e.getMessage(), e);
    }
  }

  /** Switches from writing straight to the target: the lines so far are transaction n, in place. */
  private void beginTransactions(long n) throws IOException {
    direct.flush();
    channel.force(true);
    long end = channel.size();
    direct.close(); // closes the channel too
    direct = null;
    channel = null;
    own.beginTransactions(directStart);
    if (end > directStart) {
      precommitted.add(Transaction.inPlace(n, end - directStart));
    }
    mode = Mode.TRANSACTIONAL;
  }

  /** Commits every pre-committed transaction up to {@code checkpointId}, oldest first. */
  @Override
  public void checkpointComplete(long checkpointId) {
    if (mode != Mode.TRANSACTIONAL) {
      return;
    }
    List<Transaction> due = new ArrayList<>();
    for (Transaction t : precommitted) {
      if (t.id() <= checkpointId) {
        due.add(t);
      }
    }
    if (due.isEmpty()) {
      return;
    }
    try {
      own.commit(due);
    } catch (IOException e) {
      throw new UncheckedIOException("file-sink " + context.instanceId() + ": cannot commit checkpoint " + checkpointId
          + " into " + own + ": " + e.getMessage(), e);
    }
    precommitted.removeAll(due);
  }

  /**
   * Commits the transactions of every target this instance is responsible for now (it received
   * the target's key), takes back what was committed after the checkpoint, and deletes leftover
   * pending files; settles its own target when no restored state speaks for it. Transactions
   * from here on are numbered after the checkpoint.
   */
  @Override
  public void restoreState(StateRestore<String> restore) {
    long checkpoint = restore.checkpointId();
    String where = "file-sink " + context.instanceId() + ": restoring checkpoint " + checkpoint;
    try {
      if (channel != null) {
        channel.close(); // opened in init; transactions write through pending files from now on
        channel = null;
      }
      mode = Mode.TRANSACTIONAL;
      lastCheckpoint = checkpoint;
      Set<Integer> responsible = new TreeSet<>();
      restore.forEachKeyed((key, bytes) ->
          responsible.add(StateBytes.read(bytes, TOKEN_VERSION, where + ", key " + key, (in, v) -> in.readInt())));
      Map<Integer, TransactionLog> logs = new TreeMap<>();
      for (StateRestore.OperatorEntry e : restore.operatorEntries()) {
        TransactionLog log = TransactionLog.decode(e.value(), where + " (state of instance " + e.instanceIndex() + ")");
        if (logs.put(log.instance(), log) != null) {
          throw new IllegalStateException(where + ": two states for the target of instance " + log.instance());
        }
      }
      for (int instance : responsible) {
        TransactionLog log = logs.get(instance);
        if (log != null) {
          (instance == context.instanceIndex() ? own : new TargetFile(target(instance))).restore(checkpoint, log);
        }
      }
      if (!logs.containsKey(context.instanceIndex())) {
        own.settleUnlisted(checkpoint, append);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(where + ": " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- end

  /**
   * At the end of the input. Without checkpoints: writes out the buffered lines. With them:
   * commits every transaction left, the open one included (as {@link CommitMarker#END_OF_INPUT}):
   * the input ended cleanly, so every line reached the sink, and there is no later barrier to wait
   * for.
   */
  @Override
  public void close() {
    try {
      switch (mode) {
        case UNDECIDED -> {
          startDirect();
          closeDirect();
        }
        case DIRECT -> closeDirect();
        case TRANSACTIONAL -> {
          if (pending != null) {
            precommitted.add(pending.finish(CommitMarker.END_OF_INPUT));
            pending = null;
          }
          own.commit(precommitted);
          precommitted.clear();
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + own + ": " + e.getMessage(), e);
    } finally {
      release();
    }
  }

  /**
   * Thrown away without finishing (a restore or a stop): closes the files and gives up the target,
   * committing nothing. What was pre-committed is in the checkpoint; the pending file of the open
   * transaction belongs to the aborted run and the restore deletes it.
   */
  @Override
  public void dispose() {
    try {
      if (direct != null) {
        direct.close();
      } else if (channel != null) {
        channel.close();
      }
      if (pending != null) {
        pending.writer.close();
      }
    } catch (IOException e) {
      // nothing to keep: the next operator starts from the checkpoint
    } finally {
      direct = null;
      channel = null;
      pending = null;
      release();
    }
  }

  private void closeDirect() throws IOException {
    direct.close();
    direct = null;
    channel = null;
  }

  private void release() {
    if (claimed) {
      claimed = false;
      CLAIMED.remove(own == null ? target(context.instanceIndex()) : own.path());
    }
  }

  /**
   * Forgets which targets operators of this process write, as the death of the process would.
   * For tests that simulate a crash by abandoning operators.
   */
  static void forgetClaims() {
    CLAIMED.clear();
  }

  private Path target(int instance) {
    return FileSinkStageFactory.replicaPath(path, instance).toAbsolutePath().normalize();
  }

  /** The keyed-state key whose owner after a restore commits the target of {@code instance}. */
  static String tokenKey(int instance) {
    return "target-" + instance;
  }

  /** The pending file of the open transaction. */
  private static final class PendingFile {
    final Path path;
    final FileChannel channel;
    final Writer writer;

    private PendingFile(Path path, FileChannel channel) {
      this.path = path;
      this.channel = channel;
      this.writer = new BufferedWriter(Channels.newWriter(channel, StandardCharsets.UTF_8));
    }

    static PendingFile create(Path path) throws IOException {
      return new PendingFile(path, FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING));
    }

    /** Makes the lines durable and closes the file: transaction {@code id}. */
    Transaction finish(long id) throws IOException {
      writer.flush();
      channel.force(true);
      long length = channel.size();
      writer.close();
      return new Transaction(id, path.getFileName().toString(), length);
    }
  }
}
