package io.sluice.runtime.internal.exchange;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.sluice.proto.v1.Event;

/**
 * A received batch kept as it arrived: one byte array and where each event's bytes lie in it.
 * Nothing is parsed until someone asks, so a stage that forwards events unchanged never builds
 * them, and the transport thread only moves bytes.
 *
 * <p>Immutable once built; the array is never written after parsing, so slices and aliased
 * parses may share it.
 */
public final class InboundBatch {
  private final byte[] buf;
  private final int[] offsets;
  private final int[] lengths;
  private final int count;

  InboundBatch(byte[] buf, int[] offsets, int[] lengths, int count) {
    this.buf = buf;
    this.offsets = offsets;
    this.lengths = lengths;
    this.count = count;
  }

  public int size() {
    return count;
  }

  /** The array every event lies in; never written after the batch was built. */
  public byte[] array() {
    return buf;
  }

  /** Where event {@code i} starts in {@link #array()}. */
  public int offset(int i) {
    return offsets[i];
  }

  /** Event {@code i}'s length in bytes. */
  public int length(int i) {
    return lengths[i];
  }

  /** Event {@code i}'s serialized bytes, without copying. */
  public ByteString eventBytes(int i) {
    return UnsafeByteOperations.unsafeWrap(buf, offsets[i], lengths[i]);
  }

  /** Event {@code i}, parsed; its bytes fields alias this batch's array. */
  public Event event(int i) throws InvalidProtocolBufferException {
    CodedInputStream in = CodedInputStream.newInstance(buf, offsets[i], lengths[i]);
    in.enableAliasing(true);
    return Event.parser().parseFrom(in);
  }
}
