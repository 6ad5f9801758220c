package io.sluice.runtime.internal.exchange;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import java.util.List;

/**
 * A batch to send: events as built objects, or as the serialized bytes they arrived as (a
 * pass-through forwards those without parsing or re-encoding them). {@link FrameCodec} writes it
 * as the {@code batch} of a {@code Frame}, the same bytes as if it were built with protobuf.
 *
 * @param items each an {@link Event} or a {@link ByteString} holding one serialized Event
 * @param sizes the serialized size of each item
 */
record OutboundBatch(List<Object> items, int[] sizes) {
  static int sizeOf(Object item) {
    return item instanceof Event e ? e.getSerializedSize() : ((ByteString) item).size();
  }
}
