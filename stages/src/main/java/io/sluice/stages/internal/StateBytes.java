package io.sluice.stages.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The frame of every piece of checkpointed state a built-in stage writes: one format-version byte,
 * then the stage's own fields through {@link DataOutputStream}. A reader is told the version it
 * found, so a later build can read what an earlier one wrote; a version it does not know, a
 * truncated entry or trailing bytes fail with a message that names the state.
 *
 * <p>Stateless and thread-safe.
 */
public final class StateBytes {
  private StateBytes() {}

  /** Writes the fields of one state entry. */
  @FunctionalInterface
  public interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  /** Reads the fields of one state entry written in format {@code version}. */
  @FunctionalInterface
  public interface Reader<T> {
    T read(DataInputStream in, int version) throws IOException;
  }

  /** One entry: {@code version}, then what {@code writer} writes. */
  public static byte[] write(int version, Writer writer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(version);
      writer.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot happen: writing to memory failed", e);
    }
    return bytes.toByteArray();
  }

  /**
   * Reads an entry written by {@link #write}.
   *
   * @param maxVersion the newest format this build reads; every older one must be readable too
   * @param what names the state in errors, e.g. "window per-minute-0, key 'k', checkpoint 7"
   * @throws IllegalStateException when the version is unknown or the bytes are not a whole entry
   */
  public static <T> T read(byte[] bytes, int maxVersion, String what, Reader<T> reader) {
    if (bytes.length == 0) {
      throw new IllegalStateException(what + ": the state entry is empty");
    }
    int version = bytes[0] & 0xff;
    if (version < 1 || version > maxVersion) {
      throw new IllegalStateException(what + ": state format version " + version + " is unknown to this build"
          + " (it reads 1 to " + maxVersion + "); restore with the build that wrote it, or a newer one");
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 1, bytes.length - 1))) {
      T value = reader.read(in, version);
      if (in.available() > 0) {
        throw new IllegalStateException(
            what + ": " + in.available() + " bytes left over after the state entry; it is not in format " + version);
      }
      return value;
    } catch (EOFException e) {
      throw new IllegalStateException(what + ": the state entry ends early; it is truncated or not in format " + version, e);
    } catch (IOException e) {
      throw new UncheckedIOException(what + ": cannot read the state entry: " + e.getMessage(), e);
    }
  }
}
