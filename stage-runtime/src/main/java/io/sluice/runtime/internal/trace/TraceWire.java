package io.sluice.runtime.internal.trace;

import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;

/**
 * Finds the trace context in an event's wire form without parsing the event: where the {@code
 * trace} field lies, whether its sampled flag is set, and where its ids are. This is what lets
 * stages that never parse events (pass-through) and the runtime's in-place decoder tell a sampled
 * event from the rest at the cost of a scan over a few tags.
 *
 * <p>Malformed input is never an error here: it is simply "not found" (the event is then treated as
 * unsampled, and whoever parses it reports the problem). Stateless and thread-safe.
 */
public final class TraceWire {
  private static final int TRACE_TAG = Event.TRACE_FIELD_NUMBER << 3 | 2;
  private static final int TRACE_ID_TAG = TraceContext.TRACE_ID_FIELD_NUMBER << 3 | 2;
  private static final int SPAN_ID_TAG = TraceContext.SPAN_ID_FIELD_NUMBER << 3 | 2;
  private static final int FLAGS_TAG = TraceContext.TRACE_FLAGS_FIELD_NUMBER << 3;
  private static final int TRACE_STATE_TAG = TraceContext.TRACE_STATE_FIELD_NUMBER << 3 | 2;
  private static final int ID_TAG = Event.ID_FIELD_NUMBER << 3 | 2;

  private TraceWire() {}

  /**
   * Where the value of the {@code trace} field of the event at {@code b[offset, offset + length)}
   * lies: {@code (position << 32) | length}, or -1 when it has none or the bytes are malformed. When
   * the field occurs more than once (protobuf merges them), the last one.
   */
  public static long locate(byte[] b, int offset, int length) {
    return valueAt(b, offset, offset + length, TRACE_TAG);
  }

  /**
   * Whether the event at {@code b[offset, offset + length)} carries a sampled trace context.
   *
   * <p>Every stage asks this of every event while tracing is on, so the common encodings are
   * answered from the event's last bytes: protobuf writes fields in number order, so {@code trace}
   * (field 7, the highest) comes last, and a context without a trace state is 28 bytes (ids only:
   * proto3 leaves the zero flags out) or 30 (flags 1). Anything else (a trace state, another
   * order, no context) takes the scan. An encoding that ends with a complete flag-less context
   * is taken as unsampled even if an earlier duplicate {@code trace} field set the flag (protobuf
   * would merge the two); no writer produces that, and the cost would only be a missing span.
   */
  public static boolean eventSampled(byte[] b, int offset, int length) {
    return sampledTraceAt(b, offset, length) >= 0;
  }

  /**
   * As {@link #eventSampled}, but saying where the sampled context lies: {@code (position << 32) |
   * length} as {@link #locate} gives it, or -1 when the event carries no sampled context (or is
   * malformed). A sampled event's span then starts from that position without a second scan.
   */
  public static long sampledTraceAt(byte[] b, int offset, int length) {
    int end = offset + length;
    if (length >= 30 && b[end - 30] == TRACE_TAG && b[end - 29] == 28 && idsAt(b, end - 28)) {
      return -1;
    }
    if (length >= 32 && b[end - 32] == TRACE_TAG && b[end - 31] == 30 && idsAt(b, end - 30)
        && b[end - 2] == FLAGS_TAG && b[end - 1] >= 0) {
      return (b[end - 1] & 1) != 0 ? ((long) (end - 30) << 32) | 30 : -1;
    }
    long trace = locate(b, offset, length);
    return trace >= 0 && sampled(b, (int) (trace >>> 32), (int) trace) ? trace : -1;
  }

  /** Whether a TraceContext's trace id (16 bytes) and span id (8 bytes) fields start at {@code p}. */
  private static boolean idsAt(byte[] b, int p) {
    return b[p] == TRACE_ID_TAG && b[p + 1] == 16 && b[p + 18] == SPAN_ID_TAG && b[p + 19] == 8;
  }

  /**
   * Whether the TraceContext at {@code b[at, at + length)} is in the shape protobuf writes for one
   * without a trace state: the ids (28 bytes), or the ids and a one-byte flags varint (30). Its
   * fields then lie at fixed places, and there is nothing to scan for.
   */
  private static boolean canonical(byte[] b, int at, int length) {
    return (length == 28 || length == 30 && b[at + 28] == FLAGS_TAG && b[at + 29] >= 0) && idsAt(b, at);
  }

  /** The sampled flag of the TraceContext message at {@code b[at, at + length)}; false if malformed. */
  public static boolean sampled(byte[] b, int at, int length) {
    if (canonical(b, at, length)) {
      // The ids alone (proto3 left the zero flags out), or the ids and a one-byte flags varint.
      return length == 30 && (b[at + 29] & 1) != 0;
    }
    int end = at + length;
    int flags = lastValueAt(b, at, end, FLAGS_TAG);
    if (flags < 0) {
      return false;
    }
    long v = varint(b, flags, end);
    return v >= 0 && ((v >>> 32) & 1) != 0;
  }

  /** The position of the 16-byte trace id in the TraceContext at {@code b[at, at + length)}, or -1. */
  public static int traceIdAt(byte[] b, int at, int length) {
    if (canonical(b, at, length)) {
      return at + 2;
    }
    return bytesFieldAt(b, at, length, TRACE_ID_TAG, 16);
  }

  /** The position of the 8-byte span id in the TraceContext at {@code b[at, at + length)}, or -1. */
  public static int spanIdAt(byte[] b, int at, int length) {
    if (canonical(b, at, length)) {
      return at + 20;
    }
    return bytesFieldAt(b, at, length, SPAN_ID_TAG, 8);
  }

  /**
   * Where the event id (the value of the last {@code id} field) of the event at {@code b[offset,
   * offset + length)} lies: {@code (position << 32) | length}, or -1 when it has none or the bytes
   * are malformed.
   */
  public static long idAt(byte[] b, int offset, int length) {
    return valueAt(b, offset, offset + length, ID_TAG);
  }

  /**
   * Where the trace state (the value of the last {@code trace_state} field) of the TraceContext at
   * {@code b[at, at + length)} lies: {@code (position << 32) | length}, or -1 when it has none or
   * the bytes are malformed.
   */
  public static long traceStateAt(byte[] b, int at, int length) {
    if (canonical(b, at, length)) {
      return -1;
    }
    return valueAt(b, at, at + length, TRACE_STATE_TAG);
  }

  /** As {@link #locate}, for the length-delimited field {@code wantedTag} of the message at {@code b[p, end)}. */
  private static long valueAt(byte[] b, int p, int end, int wantedTag) {
    int at = lastValueAt(b, p, end, wantedTag);
    if (at < 0) {
      return -1;
    }
    long n = varint(b, at, end); // the length lastValueAt has already checked
    return ((long) (int) n << 32) | (n >>> 32);
  }

  /** Where the last occurrence of a bytes field's value lies, if it has the expected size; or -1. */
  private static int bytesFieldAt(byte[] b, int at, int length, int wantedTag, int size) {
    int end = at + length;
    int field = lastValueAt(b, at, end, wantedTag);
    if (field < 0) {
      return -1;
    }
    long n = varint(b, field, end);
    return n >= 0 && (int) (n >>> 32) == size ? (int) n : -1;
  }

  /**
   * The position just after the tag of the last field tagged {@code wantedTag} in the message at
   * {@code b[p, end)}: where its value starts. -1 when there is none, or when the message is
   * malformed anywhere (a field running past the end, an unknown wire type), so a value found is
   * one whose bounds were checked.
   */
  private static int lastValueAt(byte[] b, int p, int end, int wantedTag) {
    int found = -1;
    while (p < end) {
      long tag = varint(b, p, end);
      if (tag < 0) {
        return -1;
      }
      p = (int) tag;
      int t = (int) (tag >>> 32);
      if (t == wantedTag) {
        found = p;
      }
      long next = skip(b, p, end, t);
      if (next < 0) {
        return -1;
      }
      p = (int) next;
    }
    return found;
  }

  /** The position after the value of a field with tag {@code t} at {@code p}, or -1. */
  private static long skip(byte[] b, int p, int end, int t) {
    switch (t & 7) {
      case 0 -> {
        return varint64End(b, p, end);
      }
      case 1 -> {
        return p + 8 <= end ? p + 8 : -1;
      }
      case 2 -> {
        long n = varint(b, p, end);
        if (n < 0) {
          return -1;
        }
        int len = (int) (n >>> 32);
        int q = (int) n;
        return len >= 0 && len <= end - q ? q + len : -1;
      }
      case 5 -> {
        return p + 4 <= end ? p + 4 : -1;
      }
      default -> {
        return -1;
      }
    }
  }

  /** A varint of at most 32 bits at {@code p}: (value << 32) | position after it; -1 if malformed. */
  private static long varint(byte[] b, int p, int end) {
    int value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p >= end) {
        return -1;
      }
      byte x = b[p++];
      value |= (x & 0x7F) << shift;
      if (x >= 0) {
        return ((long) value << 32) | p;
      }
    }
    return -1;
  }

  /** The position after a varint of up to 64 bits at {@code p}, or -1. */
  private static long varint64End(byte[] b, int p, int end) {
    for (int i = 0; i < 10; i++) {
      if (p >= end) {
        return -1;
      }
      if (b[p++] >= 0) {
        return p;
      }
    }
    return -1;
  }
}
