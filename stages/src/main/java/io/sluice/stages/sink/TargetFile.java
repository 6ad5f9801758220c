package io.sluice.stages.sink;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One file sink target and its companions in the same folder: the commit marker ({@link
 * CommitMarker}, {@code .<name>.commit}) and the pending files of its transactions ({@code
 * .<name>.pending-<n>}). Commits transactions into the target so that it only ever holds whole,
 * committed transactions, whatever crash came in between:
 *
 * <ol>
 *   <li>the target is cut back to the marker's length (a torn append from a commit that crashed
 *       before its marker was written goes), the transactions' bytes are written from there, the
 *       target is forced to disk;
 *   <li>the marker is replaced atomically with the last transaction and the new length;
 *   <li>the pending files are deleted.
 * </ol>
 *
 * A transaction at or below the marker's is committed already and skipped, so committing again
 * (a repeated completion, a restore) changes nothing.
 *
 * <p>Not thread-safe. Several instances may touch one target only one after the other: its writer
 * in steady state, and whichever instance a restore makes responsible for it (see {@link
 * FileSinkOperator}) during the restore, which ends before any instance writes again.
 */
final class TargetFile {
  private final Path target;
  private final Path marker;
  private final String pendingPrefix;
  private CommitMarker committed; // the marker as last read or written; null until then

  TargetFile(Path target) {
    this.target = target;
    this.marker = CommitMarker.pathFor(target);
    this.pendingPrefix = "." + target.getFileName() + ".pending-";
  }

  Path path() {
    return target;
  }

  /** Where the pending file of the transaction begun after checkpoint {@code previous} goes. */
  Path pendingPath(long previous) {
    return target.resolveSibling(pendingPrefix + (previous + 1));
  }

  /**
   * The marker: the last transaction committed and the target's length after it.
   *
   * @throws IOException when there is none: the target was not set up for transactions, or the
   *     marker was deleted
   */
  CommitMarker committed() throws IOException {
    if (committed == null) {
      committed = CommitMarker.read(marker).orElseThrow(() -> new IOException(
          "the commit marker " + marker + " of " + target + " is missing; it was deleted, or the output path"
              + " changed since the checkpoint (restore with the path the checkpoint was taken with)"));
    }
    return committed;
  }

  /** Forgets what an earlier run left: the marker and every pending file. For a fresh start. */
  void forgetEarlierRun() throws IOException {
    Files.deleteIfExists(marker);
    deletePendingFiles();
    committed = null;
  }

  /**
   * Starts transactions on a target whose first {@code length} bytes are its committed content: a
   * marker with no transaction and that length.
   */
  void beginTransactions(long length) throws IOException {
    deletePendingFiles();
    writeMarker(new CommitMarker(CommitMarker.NONE, length));
  }

  /**
   * Commits transactions, oldest first, skipping those committed already (see the class comment).
   *
   * @throws IOException when the target or a pending file cannot be read or written, or does not
   *     hold what the marker and the transaction say (it was changed by something else)
   */
  void commit(List<Transaction> transactions) throws IOException {
    if (transactions.isEmpty()) {
      return;
    }
    CommitMarker before = committed();
    List<Transaction> todo = new ArrayList<>(transactions.size());
    for (Transaction t : transactions) {
      if (t.id() > before.transaction()) {
        todo.add(t);
      } else if (!t.inPlace()) {
        Files.deleteIfExists(target.resolveSibling(t.pendingFile())); // committed; the delete was lost
      }
    }
    if (todo.isEmpty()) {
      return;
    }
    long end = before.length();
    try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      long size = out.size();
      if (size < end) {
        throw new IOException(target + " is " + size + " bytes long, but its commit marker says " + end
            + " bytes were committed: it was cut short by something else than this sink");
      }
      for (Transaction t : todo) {
        if (t.inPlace()) {
          // Written straight to the target before the first checkpoint; the bytes are there already.
          if (out.size() < end + t.length()) {
            throw new IOException(target + " lost the " + t.length() + " bytes written before checkpoint " + t.id()
                + ": it is " + out.size() + " bytes long, " + (end + t.length()) + " were expected");
          }
        } else {
          append(out, end, t);
        }
        end += t.length();
      }
      out.truncate(end); // what a torn append left beyond the last transaction
      out.force(true);
    }
    writeMarker(new CommitMarker(todo.get(todo.size() - 1).id(), end));
    for (Transaction t : todo) {
      if (!t.inPlace()) {
        Files.deleteIfExists(target.resolveSibling(t.pendingFile()));
      }
    }
  }

  /**
   * Brings the target to the state of checkpoint {@code checkpointId}, whose state lists {@code
   * log} for it: commits the listed transactions; takes back what was committed after the
   * checkpoint (a restore from an older checkpoint, or after the commit at the end of the input:
   * those lines come again); cuts off any uncommitted tail; deletes every pending file, whose
   * transactions are committed now or belong to the run after the checkpoint, which is replayed.
   *
   * @throws IOException when the target does not hold what the marker and the log say
   */
  void restore(long checkpointId, TransactionLog log) throws IOException {
    commit(log.transactions());
    CommitMarker now = committed();
    long length = log.lengthAfter();
    if (now.transaction() > checkpointId) {
      if (now.length() < length) {
        throw inconsistent(now, length);
      }
      writeMarker(new CommitMarker(checkpointId, length));
    } else if (now.length() != length) {
      throw inconsistent(now, length);
    }
    truncate(length);
    deletePendingFiles();
  }

  /**
   * Settles the target of an instance that no restored state speaks for (it had no transactions at
   * checkpoint {@code checkpointId}): cuts off anything beyond the committed length, or, without a
   * marker, starts it as a fresh run would ({@code append} keeps the content, otherwise it is
   * emptied). The marker is set to at most the checkpoint, so that the transactions after it,
   * numbered above it, are committed: a marker of a later commit (a run that ended, say) would
   * otherwise make them look committed already.
   */
  void settleUnlisted(long checkpointId, boolean append) throws IOException {
    Optional<CommitMarker> existing = CommitMarker.read(marker);
    if (existing.isPresent()) {
      CommitMarker m = existing.get();
      committed = m;
      truncate(m.length());
      if (m.transaction() > checkpointId) {
        writeMarker(new CommitMarker(checkpointId, m.length()));
      }
    } else {
      long length = 0;
      if (append && Files.exists(target)) {
        length = Files.size(target);
      } else {
        truncate(0);
      }
      writeMarker(new CommitMarker(CommitMarker.NONE, length));
    }
    deletePendingFiles();
  }

  /** Deletes every pending file of this target. */
  void deletePendingFiles() throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) {
      return;
    }
    List<Path> pending = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, p -> isPendingFile(p.getFileName().toString()))) {
      files.forEach(pending::add);
    }
    for (Path p : pending) {
      Files.deleteIfExists(p);
    }
  }

  private boolean isPendingFile(String name) {
    if (!name.startsWith(pendingPrefix) || name.length() == pendingPrefix.length()) {
      return false;
    }
    for (int i = pendingPrefix.length(); i < name.length(); i++) {
      if (!Character.isDigit(name.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private void append(FileChannel out, long at, Transaction t) throws IOException {
    Path file = target.resolveSibling(t.pendingFile());
    try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
      if (in.size() < t.length()) {
        throw new IOException(file + " holds " + in.size() + " bytes, but transaction " + t.id() + " has "
            + t.length() + ": it was cut short by something else than this sink");
      }
      long done = 0;
      while (done < t.length()) {
        long n = out.transferFrom(in, at + done, t.length() - done);
        if (n <= 0) {
          throw new EOFException(file + " ended after " + done + " of " + t.length() + " bytes");
        }
        done += n;
      }
    } catch (NoSuchFileException e) {
      throw new IOException("the pending file " + file + " of transaction " + t.id() + " is missing, and the"
          + " transaction is not committed (its marker says " + committed + "): its lines are lost", e);
    }
  }

  private void truncate(long length) throws IOException {
    try (FileChannel channel = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      if (channel.size() < length) {
        throw new IOException(target + " is " + channel.size() + " bytes long, but " + length
            + " bytes of it were committed: it was cut short by something else than this sink");
      }
      if (channel.size() > length) {
        channel.truncate(length);
        channel.force(true);
      }
    }
  }

  private void writeMarker(CommitMarker m) throws IOException {
    m.write(marker);
    committed = m;
  }

  private IOException inconsistent(CommitMarker now, long expected) {
    return new IOException(target + ": the checkpoint says " + expected + " bytes are committed, its commit marker "
        + marker.getFileName() + " says " + now.length() + " (transaction " + now.transaction() + "); the file or"
        + " the marker was changed by something else than this sink. Put both back as the sink left them");
  }

  @Override
  public String toString() {
    return target.toString();
  }
}
