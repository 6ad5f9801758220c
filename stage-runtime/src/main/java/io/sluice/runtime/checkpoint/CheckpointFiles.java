package io.sluice.runtime.checkpoint;

import com.google.common.io.ByteStreams;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32C;

/**
 * The on-disk framing of checkpoint files (state files and {@code _metadata}), and their payloads.
 *
 * <p>A framed file is, with every integer big-endian:
 *
 * <pre>
 *   offset 0   magic "SLCK"                  4 bytes
 *   offset 4   format version (1)            int32
 *   offset 8   payload length L              int64
 *   offset 16  payload                       L bytes
 *   offset 16+L CRC32C of the payload        int32
 * </pre>
 *
 * <p>The writer streams the payload (a state file of a million keys is never one byte array): it
 * writes the header with a zero length, pushes the payload through a buffered stream that updates
 * the CRC32C and counts bytes, appends the checksum, and then patches the length into the header.
 * This happens in a temporary file {@code .<name>.<random>.tmp} in the target's folder, which is
 * forced to disk and only then renamed atomically over the target, and the folder is forced; so a
 * reader never sees the placeholder length, and sees either the whole file or none.
 *
 * <p>A reader first checks the frame: magic, version, that the file is exactly as long as the
 * header says (shorter is reported as truncated), and the checksum over the whole payload; only
 * then does it parse, so a corrupt file is never partly loaded. Every fault raises {@link
 * CorruptCheckpointException} whose message starts with the file's name as the caller gave it
 * (the checkpoint store passes the path relative to its root, e.g. {@code chk-7/window-1.state}).
 *
 * <p>State file payload: a delimited {@link StateFileHeader}, one delimited {@link KeyGroupState}
 * per key group given (ascending, inside the header's range), then one delimited {@link
 * OperatorState}. There is no count: the operator state is the message whose end is the end of
 * the payload. Metadata payload: one {@link CheckpointMetadata} message, not delimited.
 *
 * <p>Threading: stateless; every method may be called from any thread. Concurrent writes of the
 * same target each use their own temporary file, and the last rename wins.
 */
public final class CheckpointFiles {
  /** The format version this code writes and the only one it reads. */
  public static final int FORMAT_VERSION = 1;

  private static final byte[] MAGIC = "SLCK".getBytes(StandardCharsets.US_ASCII);
  static final int HEADER_BYTES = 16;
  static final int TRAILER_BYTES = 4;
  /** The smallest framed file: header and checksum around an empty payload. */
  static final int MIN_FILE_BYTES = HEADER_BYTES + TRAILER_BYTES;

  private static final int LENGTH_OFFSET = 8;
  private static final int IO_BUFFER = 64 * 1024;
  private static final String TEMPORARY_SUFFIX = ".tmp";

  private CheckpointFiles() {}

  /** What a framed file is: its size on disk and the CRC32C of its payload (its trailer). */
  public record Frame(long sizeBytes, int checksum) {
    @Override
    public String toString() {
      return sizeBytes + " bytes, checksum " + hex(checksum);
    }
  }

  /**
   * Writes a payload to the stream it is given. Closing that stream only flushes it: the file is
   * finished by {@link #write} afterwards.
   */
  @FunctionalInterface
  public interface PayloadWriter {
    void writeTo(OutputStream payload) throws IOException;
  }

  /**
   * Parses a payload whose frame has been verified. {@code length} is the payload's size; the
   * stream ends there. An {@link InvalidProtocolBufferException} it throws is reported as a parse
   * error of the file.
   */
  @FunctionalInterface
  public interface PayloadReader<T> {
    T readFrom(InputStream payload, long length) throws IOException;
  }

  /**
   * Writes {@code file} atomically: framed payload to a temporary file in the same folder, forced,
   * renamed over {@code file}, folder forced. The folder must exist. On failure the temporary file
   * is removed (best effort) and {@code file} is untouched.
   */
  public static Frame write(Path file, PayloadWriter payload) throws IOException {
    Objects.requireNonNull(payload, "payload");
    Path dir = file.toAbsolutePath().getParent();
    Path tmp =
        dir.resolve(
            "." + file.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + TEMPORARY_SUFFIX);
    try {
      Frame frame;
      // CREATE_NEW: two writers of the same target never share a temporary file.
      try (FileChannel channel =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        frame = writeFramed(channel, payload);
        channel.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      fsyncDirectory(dir);
      return frame;
    } catch (Throwable t) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        t.addSuppressed(e);
      }
      throw t;
    }
  }

  /** Writes a state file (see the class comment). Key groups must ascend within the header's range. */
  public static Frame writeState(
      Path file, StateFileHeader header, List<KeyGroupState> keyGroups, OperatorState operatorState)
      throws IOException {
    Objects.requireNonNull(operatorState, "operatorState");
    checkKeyGroups(header, keyGroups);
    return write(
        file,
        out -> {
          header.writeDelimitedTo(out);
          for (KeyGroupState group : keyGroups) {
            group.writeDelimitedTo(out);
          }
          operatorState.writeDelimitedTo(out);
        });
  }

  /** Writes a checkpoint's {@code _metadata}. */
  public static Frame writeMetadata(Path file, CheckpointMetadata metadata) throws IOException {
    Objects.requireNonNull(metadata, "metadata");
    return write(file, metadata::writeTo);
  }

  /**
   * Checks a file's frame (magic, version, length, checksum) without parsing the payload.
   *
   * @param name how messages name the file
   * @param expected the size and checksum the file must have (from a state handle), or null
   * @throws CorruptCheckpointException if anything is wrong
   * @throws NoSuchFileException if there is no such file
   */
  public static Frame verify(Path file, String name, Frame expected) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      return verifyFrame(channel, name, expected).frame();
    }
  }

  /**
   * Verifies a file's frame, then parses its payload with {@code reader}. The file is opened once,
   * so what is parsed is what was verified.
   *
   * @param expected the size and checksum the file must have, or null
   */
  public static <T> T read(Path file, String name, Frame expected, PayloadReader<T> reader)
      throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      Verified verified = verifyFrame(channel, name, expected);
      channel.position(HEADER_BYTES);
      // Not closed: closing the stream would close the channel, which try-with-resources owns.
      InputStream payload = ByteStreams.limit(Channels.newInputStream(channel), verified.length());
      try {
        return reader.readFrom(payload, verified.length());
      } catch (InvalidProtocolBufferException e) {
        throw new CorruptCheckpointException(
            name + ": cannot parse the payload although its checksum matches: " + e.getMessage(), e);
      }
    }
  }

  /** Reads and verifies a state file. */
  public static InstanceStateFile readState(Path file, String name, Frame expected)
      throws IOException {
    return read(file, name, expected, (payload, length) -> parseState(payload, length, name));
  }

  /** Reads and verifies a {@code _metadata} file. */
  public static CheckpointMetadata readMetadata(Path file, String name) throws IOException {
    return read(file, name, null, (payload, length) -> CheckpointMetadata.parseFrom(payload));
  }

  /** Whether a file name is one of the temporary files {@link #write} uses. */
  static boolean isTemporary(String fileName) {
    return fileName.startsWith(".") && fileName.endsWith(TEMPORARY_SUFFIX);
  }

  /**
   * Forces a directory, so the entries just created, renamed or deleted in it survive a crash.
   * Some systems (Windows) cannot open a directory; there the rename is still atomic, only its
   * durability rests with the file system, so that failure is ignored.
   */
  static void fsyncDirectory(Path dir) throws IOException {
    FileChannel channel;
    try {
      channel = FileChannel.open(dir, StandardOpenOption.READ);
    } catch (IOException e) {
      return;
    }
    try (channel) {
      channel.force(true);
    }
  }

  /** The ordering rule of a state file, checked before anything is written. */
  static void checkKeyGroups(StateFileHeader header, List<KeyGroupState> keyGroups) {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(keyGroups, "keyGroups");
    String fault = keyGroupFault(header.getKeyGroups(), keyGroups);
    if (fault != null) {
      throw new IllegalArgumentException(
          "state of " + header.getInstanceId() + " for checkpoint " + header.getCheckpointId()
              + ": " + fault);
    }
  }

  private static String keyGroupFault(KeyGroupRange range, List<KeyGroupState> keyGroups) {
    int previous = Integer.MIN_VALUE;
    for (KeyGroupState group : keyGroups) {
      String fault = keyGroupFault(range, previous, group.getKeyGroup());
      if (fault != null) {
        return fault;
      }
      previous = group.getKeyGroup();
    }
    return null;
  }

  private static String keyGroupFault(KeyGroupRange range, int previous, int keyGroup) {
    if (keyGroup <= previous) {
      return "key group " + keyGroup + " after key group " + previous + " (must ascend)";
    }
    if (keyGroup < range.getStart() || keyGroup >= range.getEnd()) {
      return "key group " + keyGroup + " outside the header's range [" + range.getStart() + ", "
          + range.getEnd() + ")";
    }
    return null;
  }

  private record Verified(Frame frame, long length) {}

  private static Frame writeFramed(FileChannel channel, PayloadWriter payload) throws IOException {
    // The length is not known until the payload is written; 0 is patched below.
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).put(MAGIC).putInt(FORMAT_VERSION).putLong(0);
    header.flip();
    // A relative write: the payload stream below continues at the channel's position.
    while (header.hasRemaining()) {
      channel.write(header);
    }
    PayloadStream out =
        new PayloadStream(new BufferedOutputStream(Channels.newOutputStream(channel), IO_BUFFER));
    payload.writeTo(out);
    out.flush();
    long length = out.count;
    int checksum = (int) out.crc.getValue();
    writeFully(channel, ByteBuffer.allocate(TRAILER_BYTES).putInt(checksum).flip(), HEADER_BYTES + length);
    writeFully(channel, ByteBuffer.allocate(Long.BYTES).putLong(length).flip(), LENGTH_OFFSET);
    return new Frame(MIN_FILE_BYTES + length, checksum);
  }

  private static Verified verifyFrame(FileChannel channel, String name, Frame expected)
      throws IOException {
    long size = channel.size();
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    readFully(channel, header.limit((int) Math.min(size, HEADER_BYTES)), 0, name);
    if (size >= MAGIC.length) {
      byte[] magic = Arrays.copyOf(header.array(), MAGIC.length);
      if (!Arrays.equals(magic, MAGIC)) {
        throw corrupt(name, "bad magic " + hex(magic) + ", expected " + hex(MAGIC) + " (\"SLCK\")");
      }
    }
    if (size < MIN_FILE_BYTES) {
      throw corrupt(name, "truncated: " + size + " bytes, expected at least " + MIN_FILE_BYTES);
    }
    int version = header.getInt(MAGIC.length);
    if (version != FORMAT_VERSION) {
      throw corrupt(
          name, "unsupported format version " + version + " (this reader knows " + FORMAT_VERSION + ")");
    }
    long length = header.getLong(LENGTH_OFFSET);
    if (length < 0 || length > Long.MAX_VALUE - MIN_FILE_BYTES) {
      throw corrupt(name, "bad payload length " + length);
    }
    long expectedSize = MIN_FILE_BYTES + length;
    if (size < expectedSize) {
      throw corrupt(
          name, "truncated: " + size + " bytes, expected " + expectedSize + " (payload " + length + ")");
    }
    if (size > expectedSize) {
      throw corrupt(
          name,
          "wrong length: " + size + " bytes, expected " + expectedSize + " (payload " + length
              + "); bytes after the checksum");
    }
    CRC32C crc = new CRC32C();
    ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(IO_BUFFER, Math.max(length, 1)));
    long position = HEADER_BYTES;
    long end = HEADER_BYTES + length;
    while (position < end) {
      buffer.clear().limit((int) Math.min(buffer.capacity(), end - position));
      readFully(channel, buffer, position, name);
      position += buffer.flip().remaining();
      crc.update(buffer);
    }
    ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES);
    readFully(channel, trailer, end, name);
    int stored = trailer.getInt(0);
    int computed = (int) crc.getValue();
    if (stored != computed) {
      throw corrupt(
          name, "checksum mismatch (stored " + hex(stored) + ", computed " + hex(computed) + ")");
    }
    Frame frame = new Frame(size, computed);
    if (expected != null && !expected.equals(frame)) {
      // An intact file that is not the one the handle recorded: a stale or foreign file.
      throw corrupt(name, "does not match its state handle (file: " + frame + "; handle: " + expected + ")");
    }
    return new Verified(frame, length);
  }

  private static InstanceStateFile parseState(InputStream payload, long length, String name)
      throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(payload, IO_BUFFER);
    // Bytes of the payload consumed before the messages counted in in.getTotalBytesRead(); that
    // counter is reset after each message, since it is an int and caps a stream at 2 GiB.
    long consumed = 0;
    if (length == 0) {
      throw corrupt(name, "empty payload, expected a state file header");
    }
    StateFileHeader header = parseDelimited(in, StateFileHeader.parser());
    consumed += in.getTotalBytesRead();
    in.resetSizeCounter();
    List<KeyGroupState> keyGroups = new ArrayList<>();
    int previous = Integer.MIN_VALUE;
    while (true) {
      if (consumed >= length) {
        throw corrupt(name, "no operator state after " + keyGroups.size() + " key groups");
      }
      int size = in.readRawVarint32();
      long end = consumed + in.getTotalBytesRead() + Integer.toUnsignedLong(size);
      if (end > length) {
        throw corrupt(
            name, "a message of " + Integer.toUnsignedLong(size) + " bytes runs past the payload's end");
      }
      if (end == length) {
        // The last message is the operator state.
        OperatorState operatorState = parseLimited(in, size, OperatorState.parser());
        return new InstanceStateFile(header, List.copyOf(keyGroups), operatorState);
      }
      KeyGroupState group = parseLimited(in, size, KeyGroupState.parser());
      String fault = keyGroupFault(header.getKeyGroups(), previous, group.getKeyGroup());
      if (fault != null) {
        throw corrupt(name, fault);
      }
      previous = group.getKeyGroup();
      keyGroups.add(group);
      consumed += in.getTotalBytesRead();
      in.resetSizeCounter();
    }
  }

  private static <M extends MessageLite> M parseDelimited(CodedInputStream in, Parser<M> parser)
      throws IOException {
    return parseLimited(in, in.readRawVarint32(), parser);
  }

  /** What {@code parseDelimitedFrom} does, after the length prefix has been read. */
  private static <M extends MessageLite> M parseLimited(CodedInputStream in, int size, Parser<M> parser)
      throws IOException {
    int oldLimit = in.pushLimit(size);
    M message = parser.parseFrom(in);
    in.checkLastTagWas(0);
    if (in.getBytesUntilLimit() != 0) {
      throw new InvalidProtocolBufferException("message ended before its length");
    }
    in.popLimit(oldLimit);
    return message;
  }

  private static CorruptCheckpointException corrupt(String name, String fault) {
    return new CorruptCheckpointException(name + ": " + fault);
  }

  private static String hex(int value) {
    return String.format("0x%08x", value);
  }

  private static String hex(byte[] bytes) {
    StringBuilder s = new StringBuilder("0x");
    for (byte b : bytes) {
      s.append(String.format("%02x", b));
    }
    return s.toString();
  }

  private static void writeFully(FileChannel channel, ByteBuffer buffer, long position)
      throws IOException {
    while (buffer.hasRemaining()) {
      position += channel.write(buffer, position);
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position, String name)
      throws IOException {
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, position);
      if (n < 0) {
        // The file shrank after its size was read: it is not a finished checkpoint file.
        throw corrupt(name, "file ended at byte " + position + " while being read");
      }
      position += n;
    }
  }

  /**
   * Counts the payload and updates its CRC32C on the way to the buffered channel stream. Closing
   * it only flushes, so a payload writer that closes what it is given cannot close the channel.
   */
  private static final class PayloadStream extends OutputStream {
    private final OutputStream out;
    final CRC32C crc = new CRC32C();
    long count;

    PayloadStream(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      crc.update(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      crc.update(b, off, len);
      count += len;
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }

    @Override
    public void close() throws IOException {
      out.flush();
    }
  }
}
