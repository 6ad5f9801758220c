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
 * <p>Threading: stateless apart from the id counter; use one per subtask.
 */
public final class RecordCodec {
  private static final RecordAccess.Accessor ACCESS = RecordAccess.get();

  static {
    RecordAccess.installTraceResolver(o -> o instanceof Event e ? trace(e) : null);
  }

  private final String idPrefix;
  private long nextId;

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
    Object origin = ACCESS.origin(r);
    if (origin instanceof Event unchanged) {
      return unchanged;
    }
    Event.Builder b = Event.newBuilder()
        .setId(r.id().isEmpty() ? deriveId(cause) : r.id())
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
    } else if (r.trace() != null) {
      b.setTrace(toWire(r.trace()));
    } else if (cause != null && cause.hasTrace()) {
      b.setTrace(cause.getTrace());
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
