package io.sluice.stages.sink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * What a file sink's target holds for sure: the last transaction committed into it and the
 * target's length right after. Stored beside the target as {@code .<name>.commit}, a one-line JSON
 * object such as {@code {"version":1,"transaction":7,"length":1234}}, replaced atomically (written
 * to a temporary file, forced, renamed over the old one). Immutable.
 *
 * @param transaction the last transaction committed: a checkpoint id, {@link #NONE} before the
 *     first, or {@link #END_OF_INPUT} after the commit at the end of the input
 * @param length the target's length in bytes once that transaction was committed; anything beyond
 *     it is a torn append or lines not committed yet
 */
record CommitMarker(long transaction, long length) {
  /** No transaction committed yet. */
  static final long NONE = 0;

  /** The transaction committed when the input ended: after every checkpoint. */
  static final long END_OF_INPUT = Long.MAX_VALUE;

  private static final int VERSION = 1;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** The marker's file for a target: {@code .<name>.commit} beside it. */
  static Path pathFor(Path target) {
    return target.resolveSibling("." + target.getFileName() + ".commit");
  }

  /**
   * Reads a marker file.
   *
   * @return empty when there is none
   * @throws IOException when it cannot be read or is not a marker
   */
  static Optional<CommitMarker> read(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(bytes);
    } catch (IOException e) {
      throw new IOException(file + " is not a commit marker: " + e.getMessage(), e);
    }
    if (node == null || node.path("version").asInt() != VERSION
        || !node.path("transaction").canConvertToLong() || !node.path("length").canConvertToLong()) {
      throw new IOException(file + " is not a commit marker of version " + VERSION + ": " + node);
    }
    return Optional.of(new CommitMarker(node.get("transaction").longValue(), node.get("length").longValue()));
  }

  /** Replaces the marker file atomically and durably. */
  void write(Path file) throws IOException {
    ObjectNode node = MAPPER.createObjectNode().put("version", VERSION).put("transaction", transaction).put("length", length);
    byte[] bytes = (node + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    Path temp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel channel = FileChannel.open(
        temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    forceDirectory(file.getParent());
  }

  /**
   * Makes a rename in {@code dir} durable where the platform allows forcing a folder (Linux, macOS);
   * elsewhere the rename is as durable as the file system makes it on its own.
   */
  static void forceDirectory(Path dir) {
    if (dir == null) {
      return;
    }
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (AccessDeniedException | UnsupportedOperationException e) {
      // Windows cannot open a folder as a channel: nothing more to do there.
    } catch (IOException e) {
      // Some file systems refuse to force a folder; the rename itself has happened.
    }
  }
}
