package io.sluice.runtime.internal.trace.otlp;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A growable buffer that protobuf fields are written into, in the wire format, for the OTLP
 * encoder. A nested message is written in place: {@link #begin} leaves one byte for its length,
 * and {@link #end} writes the length there, moving the message's bytes along when the length
 * needs more than one byte. So a request is encoded in one pass, without computing sizes first.
 *
 * <p>Threading: not thread-safe; confined to the thread that encodes.
 */
final class ProtoWriter {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LEN = 2;
  static final int FIXED32 = 5;

  private byte[] buf;
  private int pos;

  ProtoWriter(int initialCapacity) {
    buf = new byte[initialCapacity];
  }

  void reset() {
    pos = 0;
  }

  int position() {
    return pos;
  }

  /** A copy of what was written. */
  byte[] toByteArray() {
    return Arrays.copyOf(buf, pos);
  }

  /**
   * What was written, without a copy, by a writer made with the exact size of what it was to hold;
   * the writer must not be used afterwards.
   *
   * @throws IllegalStateException when what was written is not that size (a message sized in
   *     advance whose lengths would then be wrong)
   */
  byte[] filled() {
    if (pos != buf.length) {
      throw new IllegalStateException("wrote " + pos + " bytes where " + buf.length + " were sized");
    }
    return buf;
  }

  /** A copy of the bytes written from {@code from} to the current position. */
  byte[] copyFrom(int from) {
    return Arrays.copyOfRange(buf, from, pos);
  }

  private void ensure(int more) {
    if (pos + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + more));
    }
  }

  void tag(int field, int wireType) {
    varint32((field << 3) | wireType);
  }

  void varint32(int v) {
    ensure(5);
    while ((v & ~0x7F) != 0) {
      buf[pos++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[pos++] = (byte) v;
  }

  void varint64(long v) {
    ensure(10);
    while ((v & ~0x7FL) != 0) {
      buf[pos++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[pos++] = (byte) v;
  }

  void fixed64(long v) {
    ensure(8);
    for (int i = 0; i < 8; i++) {
      buf[pos++] = (byte) (v >>> (8 * i));
    }
  }

  void fixed32(int v) {
    ensure(4);
    for (int i = 0; i < 4; i++) {
      buf[pos++] = (byte) (v >>> (8 * i));
    }
  }

  /** Appends bytes already in the wire format (a field encoded earlier and kept). */
  void raw(byte[] b) {
    ensure(b.length);
    System.arraycopy(b, 0, buf, pos, b.length);
    pos += b.length;
  }

  void bytesField(int field, byte[] b) {
    tag(field, LEN);
    varint32(b.length);
    raw(b);
  }

  /**
   * A length-delimited field of {@code hex.length() / 2} bytes decoded from lower- or upper-case
   * hex (trace and span ids, which the SDK keeps as hex strings), without an intermediate array.
   */
  void hexField(int field, String hex) {
    int n = hex.length() / 2;
    tag(field, LEN);
    varint32(n);
    ensure(n);
    for (int i = 0; i < n; i++) {
      buf[pos++] = (byte) ((nibble(hex.charAt(2 * i)) << 4) | nibble(hex.charAt(2 * i + 1)));
    }
  }

  private static final byte[] NIBBLES = new byte[128];

  static {
    Arrays.fill(NIBBLES, (byte) -1);
    for (int i = 0; i < 10; i++) {
      NIBBLES['0' + i] = (byte) i;
    }
    for (int i = 0; i < 6; i++) {
      NIBBLES['a' + i] = (byte) (10 + i);
      NIBBLES['A' + i] = (byte) (10 + i);
    }
  }

  private static int nibble(char c) {
    int v = c < 128 ? NIBBLES[c] : -1;
    if (v < 0) {
      throw new IllegalArgumentException("not a hex digit: " + c);
    }
    return v;
  }

  /** A string field, even when empty (callers skip empty proto3 scalars themselves). */
  void stringField(int field, String s) {
    tag(field, LEN);
    int n = s.length();
    int start = pos;
    varint32(n);
    ensure(n);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        // Not ASCII: the length in bytes differs from the length in chars; start over.
        pos = start;
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        varint32(utf8.length);
        raw(utf8);
        return;
      }
      buf[pos++] = (byte) c;
    }
  }

  /** Starts a nested message in field {@code field}; returns the mark to pass to {@link #end}. */
  int begin(int field) {
    tag(field, LEN);
    ensure(1);
    return pos++;
  }

  /** Ends the nested message begun at {@code mark}: writes its length before its bytes. */
  void end(int mark) {
    int len = pos - mark - 1;
    int size = varintSize(len);
    if (size > 1) {
      ensure(size - 1);
      System.arraycopy(buf, mark + 1, buf, mark + size, len);
      pos += size - 1;
    }
    int at = mark;
    int v = len;
    while ((v & ~0x7F) != 0) {
      buf[at++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    buf[at] = (byte) v;
  }

  /** The length of {@code s} in UTF-8, as {@link #stringField} writes it. */
  static int utf8Length(String s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      if (s.charAt(i) >= 0x80) {
        return s.getBytes(StandardCharsets.UTF_8).length;
      }
    }
    return n;
  }

  static int varintSize(int v) {
    int size = 1;
    while ((v & ~0x7F) != 0) {
      v >>>= 7;
      size++;
    }
    return size;
  }
}
