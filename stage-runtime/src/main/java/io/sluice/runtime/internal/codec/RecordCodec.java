package io.sluice.runtime.internal.codec;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.RecordAccess;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.TraceParent;
import java.util.Map;

/**
 * Wire events to records and back. A record decoded here remembers its event; if an operator
 * forwards it unchanged, {@link #encode} returns that event as it is, so a pass-through stage does
 * not re-encode anything.
 *
 * <p>Threading: stateless apart from the id counter and where the last decoded event's trace
 * context lay; use one per subtask.
 */
public final class RecordCodec {
  private static final RecordAccess.Accessor ACCESS = RecordAccess.get();

  static {
    RecordAccess.installTraceResolver(o -> o instanceof Event e ? trace(e)
        : o instanceof ByteString wire ? traceOfWire(wire) : null);
    RecordAccess.installIdResolver(o -> ((ByteString) o).toStringUtf8());
  }

  // Field numbers of sluice.v1.Event, for reading records straight from the wire form.
  private static final int ID = tag(Event.ID_FIELD_NUMBER, 2);
  private static final int KEY = tag(Event.KEY_FIELD_NUMBER, 2);
  private static final int TIME = tag(Event.EVENT_TIME_FIELD_NUMBER, 0);
  private static final int PAYLOAD = tag(Event.PAYLOAD_FIELD_NUMBER, 2);
  private static final int ATTRIBUTES = tag(Event.ATTRIBUTES_FIELD_NUMBER, 2);
  private static final int TRACE = tag(Event.TRACE_FIELD_NUMBER, 2);

  private static int tag(int field, int wireType) {
    return (field << 3) | wireType;
  }

  /**
   * Decodes a record straight from an event's wire form, reading only what a record holds (id,
   * key, time, payload) and leaving the rest — content type, trace context — as bytes. The wire
   * form becomes the record's origin: forwarded unchanged, those bytes go out as they came. An
   * event with attributes takes the full parse.
   *
   * @throws io.sluice.runtime.api.SerdeException when the key or payload cannot be decoded
   * @throws com.google.protobuf.InvalidProtocolBufferException when the bytes are not an Event
   */
  public <K, V> Record<K, V> decode(ByteString wire, Serde<K> keySerde, Serde<V> valueSerde)
      throws com.google.protobuf.InvalidProtocolBufferException {
    ByteString id = ByteString.EMPTY;
    ByteString key = ByteString.EMPTY;
    ByteString payload = ByteString.EMPTY;
    long time = 0;
    try {
      com.google.protobuf.CodedInputStream in = wire.newCodedInput();
      in.enableAliasing(true);
      for (int t = in.readTag(); t != 0; t = in.readTag()) {
        if (t == ID) {
          id = in.readBytes();
        } else if (t == KEY) {
          key = in.readBytes();
        } else if (t == TIME) {
          time = in.readInt64();
        } else if (t == PAYLOAD) {
          payload = in.readBytes();
        } else if (t == ATTRIBUTES) {
          return decode(Event.parseFrom(wire), keySerde, valueSerde);
        } else if (!in.skipField(t)) {
          break;
        }
      }
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw e;
    } catch (java.io.IOException e) {
      throw new com.google.protobuf.InvalidProtocolBufferException(e);
    }
    K k = keySerde.deserialize(key.toByteArray());
    V v = valueSerde.deserialize(payload.toByteArray());
    return ACCESS.createFromWire(id, k, v, time, wire);
  }

  /**
   * As {@link #decode(ByteString, Serde, Serde)}, for an event lying in {@code buffer} at {@code
   * offset} (a received batch's array, never written again): the fields are read in place with a
   * small hand-written reader, and key and payload are decoded straight from the array.
   */
  public <K, V> Record<K, V> decode(byte[] buffer, int offset, int length, Serde<K> keySerde, Serde<V> valueSerde)
      throws com.google.protobuf.InvalidProtocolBufferException {
    int end = offset + length;
    int idAt = offset;
    int idLength = 0;
    int keyAt = offset;
    int keyLength = 0;
    int payloadAt = offset;
    int payloadLength = 0;
    long time = 0;
    int p = offset;
    lastTraceAt = -1;
    lastTraceLength = 0;
    while (p < end) {
      long tagAndPos = varint(buffer, p, end);
      int t = (int) (tagAndPos >>> 32);
      p = (int) tagAndPos;
      switch (t & 7) {
        case 0 -> { // varint
          if (t == TIME) {
            time = varint64(buffer, p, end);
          }
          p = skipVarint(buffer, p, end);
        }
        case 2 -> { // length-delimited
          long lengthAndPos = varint(buffer, p, end);
          int n = (int) (lengthAndPos >>> 32);
          p = (int) lengthAndPos;
          if (n < 0 || n > end - p) {
            throw truncated();
          }
          if (t == ID) {
            idAt = p;
            idLength = n;
          } else if (t == KEY) {
            keyAt = p;
            keyLength = n;
          } else if (t == PAYLOAD) {
            payloadAt = p;
            payloadLength = n;
          } else if (t == TRACE) {
            lastTraceAt = p;
            lastTraceLength = n;
          } else if (t == ATTRIBUTES) {
            lastTraceAt = -1; // the record's origin is then the parsed Event: ask it
            lastTraceLength = 0;
            return decode(Event.parseFrom(ByteString.copyFrom(buffer, offset, length)), keySerde, valueSerde);
          }
          p += n;
        }
        case 1 -> p += 8;
        case 5 -> p += 4;
        default -> throw new com.google.protobuf.InvalidProtocolBufferException(
            "malformed event: wire type " + (t & 7) + " of field " + (t >>> 3) + " is not allowed here");
      }
      if (p > end) {
        throw truncated();
      }
    }
    K k = keySerde.deserialize(buffer, keyAt, keyLength);
    V v = valueSerde.deserialize(buffer, payloadAt, payloadLength);
    return ACCESS.createFromWire(UnsafeByteOperations.unsafeWrap(buffer, idAt, idLength), k, v, time,
        UnsafeByteOperations.unsafeWrap(buffer, offset, length));
  }

  /** A varint of at most 32 bits at {@code p}: (value << 32) | position after it. */
  private static long varint(byte[] b, int p, int end) throws com.google.protobuf.InvalidProtocolBufferException {
    int value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p >= end) {
        throw truncated();
      }
      byte x = b[p++];
      value |= (x & 0x7F) << shift;
      if (x >= 0) {
        return ((long) value << 32) | p;
      }
    }
    throw new com.google.protobuf.InvalidProtocolBufferException("malformed event: a varint is too long");
  }

  private static long varint64(byte[] b, int p, int end) throws com.google.protobuf.InvalidProtocolBufferException {
    long value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p >= end) {
        throw truncated();
      }
      byte x = b[p++];
      value |= (long) (x & 0x7F) << shift;
      if (x >= 0) {
        return value;
      }
    }
    throw new com.google.protobuf.InvalidProtocolBufferException("malformed event: a varint is too long");
  }

  private static int skipVarint(byte[] b, int p, int end) throws com.google.protobuf.InvalidProtocolBufferException {
    for (int i = 0; i < 10; i++) {
      if (p >= end) {
        throw truncated();
      }
      if (b[p++] >= 0) {
        return p;
      }
    }
    throw new com.google.protobuf.InvalidProtocolBufferException("malformed event: a varint is too long");
  }

  private static com.google.protobuf.InvalidProtocolBufferException truncated() {
    return new com.google.protobuf.InvalidProtocolBufferException(
        "malformed event: a field runs past the end of the event");
  }

  /** The trace context in an event's wire form, or null. */
  public static TraceContext traceContextOfWire(ByteString wire) {
    try {
      com.google.protobuf.CodedInputStream in = wire.newCodedInput();
      for (int t = in.readTag(); t != 0; t = in.readTag()) {
        if (t == TRACE) {
          return TraceContext.parseFrom(in.readBytes());
        }
        if (!in.skipField(t)) {
          break;
        }
      }
      return null;
    } catch (java.io.IOException e) {
      return null;
    }
  }

  private static TraceParent traceOfWire(ByteString wire) {
    TraceContext t = traceContextOfWire(wire);
    return t == null ? null : trace(Event.newBuilder().setTrace(t).build());
  }

  /**
   * What to send for a forwarded record: its origin's bytes when it is unchanged and came off the
   * wire (a {@link ByteString}), else an encoded {@link Event}.
   */
  public <K, V> Object encodeOrForward(Record<K, V> r, Serde<K> keySerde, Serde<V> valueSerde, java.util.function.Supplier<Event> cause) {
    Object origin = ACCESS.origin(r);
    if (origin instanceof ByteString unchanged) {
      return unchanged;
    }
    if (origin instanceof Event unchanged) {
      return unchanged;
    }
    return encode(r, keySerde, valueSerde, cause);
  }

  private final String idPrefix;
  private long nextId;
  // Where the trace field of the last event decoded from an array lies (set by that decode), so
  // the runner can read its sampled flag without another scan.
  private int lastTraceAt = -1;
  private int lastTraceLength;

  /**
   * The position in the batch array of the trace context of the event last decoded with {@link
   * #decode(byte[], int, int, Serde, Serde)}, or -1 when it had none (or took the full parse).
   */
  public int lastTraceAt() {
    return lastTraceAt;
  }

  /** The length of the trace context at {@link #lastTraceAt()}. */
  public int lastTraceLength() {
    return lastTraceLength;
  }

  /** @param idPrefix prefix of ids made up for records created without one (the instance id) */
  public RecordCodec(String idPrefix) {
    this.idPrefix = idPrefix;
  }

  /**
   * Decodes an event with the given serdes.
   *
   * @throws io.sluice.runtime.api.SerdeException when the key or payload cannot be decoded
   */
  public <K, V> Record<K, V> decode(Event e, Serde<K> keySerde, Serde<V> valueSerde) {
    K key = keySerde.deserialize(e.getKey().toByteArray());
    V value = valueSerde.deserialize(e.getPayload().toByteArray());
    Map<String, String> attributes = e.getAttributesCount() == 0 ? Map.of() : e.getAttributesMap();
    // No TraceParent yet: the record inherits e's context and decodes it only if asked.
    return ACCESS.create(e.getId(), key, value, e.getEventTime(), attributes, null, e);
  }

  /**
   * Encodes a record with the given serdes. {@code cause} is the input event being processed: a
   * record with no id gets one derived from it, and one with no trace context inherits its
   * context.
   */
  public <K, V> Event encode(Record<K, V> r, Serde<K> keySerde, Serde<V> valueSerde, Event cause) {
    return encode(r, keySerde, valueSerde, () -> cause);
  }

  /**
   * As {@link #encode(Record, Serde, Serde, Event)}, with the input asked for only when needed
   * (a record without an id or any trace context), so it is not parsed for nothing.
   */
  public <K, V> Event encode(
      Record<K, V> r, Serde<K> keySerde, Serde<V> valueSerde, java.util.function.Supplier<Event> causes) {
    Object origin = ACCESS.origin(r);
    if (origin instanceof Event unchanged) {
      return unchanged;
    }
    Event.Builder b = Event.newBuilder()
        .setId(r.id().isEmpty() ? deriveId(causes.get()) : r.id())
        .setKey(wrap(keySerde.serialize(r.key())))
        .setEventTime(r.timestamp())
        .setPayload(wrap(valueSerde.serialize(r.value())));
    String contentType = valueSerde.contentType();
    if (!contentType.isEmpty()) {
      b.setContentType(contentType);
    }
    if (!r.attributes().isEmpty()) {
      b.putAllAttributes(r.attributes());
    }
    Object inherited = ACCESS.traceSource(r);
    if (inherited instanceof Event source) {
      if (source.hasTrace()) {
        b.setTrace(source.getTrace()); // the wire form as it came: no decode, no re-encode
      }
    } else if (inherited instanceof ByteString wire) {
      TraceContext t = traceContextOfWire(wire);
      if (t != null) {
        b.setTrace(t);
      }
    } else if (r.trace() != null) {
      b.setTrace(toWire(r.trace()));
    } else {
      Event cause = causes.get();
      if (cause != null && cause.hasTrace()) {
        b.setTrace(cause.getTrace());
      }
    }
    return b.build();
  }

  private String deriveId(Event cause) {
    // Deterministic given the input, so replays after a restore produce the same ids.
    return cause != null && !cause.getId().isEmpty()
        ? cause.getId() + "/" + idPrefix
        : idPrefix + "-" + (nextId++);
  }

  private static ByteString wrap(byte[] bytes) {
    return bytes.length == 0 ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(bytes);
  }

  /** The record-level trace context of an event, or null. */
  public static TraceParent trace(Event e) {
    if (!e.hasTrace()) {
      return null;
    }
    TraceContext t = e.getTrace();
    if (t.getTraceId().size() != 16 || t.getSpanId().size() != 8) {
      return null;
    }
    return TraceParent.fromBytes(
        t.getTraceId().toByteArray(), t.getSpanId().toByteArray(), t.getTraceFlags(), t.getTraceState());
  }

  public static TraceContext toWire(TraceParent p) {
    return TraceContext.newBuilder()
        .setTraceId(UnsafeByteOperations.unsafeWrap(p.traceIdBytes()))
        .setSpanId(UnsafeByteOperations.unsafeWrap(p.spanIdBytes()))
        .setTraceFlags(p.flags())
        .setTraceState(p.traceState())
        .build();
  }
}
