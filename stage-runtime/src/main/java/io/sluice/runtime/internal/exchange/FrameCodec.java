package io.sluice.runtime.internal.exchange;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Feedback;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.StageServiceGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/**
 * How Exchange frames cross the wire in this runtime: the same bytes as {@code sluice.v1.Frame}
 * (any implementation of the contract interoperates), but a batch is read as an {@link
 * InboundBatch} — one array and the events' offsets — and written from an {@link OutboundBatch},
 * whose items may be events received as bytes and forwarded unchanged. Other frames are ordinary
 * {@link Frame} messages.
 *
 * <p>Stateless and thread-safe.
 */
public final class FrameCodec implements MethodDescriptor.Marshaller<Object> {
  public static final FrameCodec INSTANCE = new FrameCodec();

  /** StageService.Exchange with this codec for frames. */
  public static final MethodDescriptor<Object, Feedback> EXCHANGE =
      StageServiceGrpc.getExchangeMethod().toBuilder(INSTANCE, ProtoUtils.marshaller(Feedback.getDefaultInstance()))
          .build();

  // A tag is (field number << 3) | wire type.
  private static final int BATCH_TAG = tag(Frame.BATCH_FIELD_NUMBER);
  private static final int EVENT_TAG = tag(EventBatch.EVENTS_FIELD_NUMBER);
  private static final int KEY_TAG = tag(Event.KEY_FIELD_NUMBER);

  private static int tag(int field) {
    return (field << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  }

  private FrameCodec() {}

  @Override
  public InputStream stream(Object value) {
    if (value instanceof Frame f) {
      return new MessageBytes(f.toByteArray());
    }
    return new BatchStream((OutboundBatch) value);
  }

  private static int batchLength(OutboundBatch b) {
    int batchLength = 0;
    for (int size : b.sizes()) {
      batchLength += 1 + CodedOutputStream.computeUInt32SizeNoTag(size) + size;
    }
    return batchLength;
  }

  /** The whole frame in one array; used only when gRPC reads the stream instead of draining it. */
  private static byte[] encode(OutboundBatch b) {
    int batchLength = batchLength(b);
    byte[] out = new byte[1 + CodedOutputStream.computeUInt32SizeNoTag(batchLength) + batchLength];
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    try {
      cos.writeUInt32NoTag(BATCH_TAG);
      cos.writeUInt32NoTag(batchLength);
      for (int i = 0; i < b.items().size(); i++) {
        Object item = b.items().get(i);
        cos.writeUInt32NoTag(EVENT_TAG);
        cos.writeUInt32NoTag(b.sizes()[i]);
        if (item instanceof Event e) {
          e.writeTo(cos);
        } else {
          cos.writeRawBytes((ByteString) item);
        }
      }
      cos.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode a batch", e);
    }
    return out;
  }

  @Override
  public Object parse(InputStream stream) {
    byte[] buf;
    try {
      // gRPC's message streams know their length: one exact read, no chunked growth.
      int known = stream instanceof KnownLength ? stream.available() : -1;
      if (known >= 0) {
        buf = new byte[known];
        int n = stream.readNBytes(buf, 0, known);
        if (n != known || stream.read() != -1) {
          buf = null;
        }
      } else {
        buf = null;
      }
      if (buf == null) {
        throw new IOException("the message is not the length gRPC announced");
      }
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("cannot read a frame: " + e.getMessage()).asRuntimeException();
    }
    try {
      InboundBatch batch = readBatch(buf);
      return batch != null ? batch : Frame.parseFrom(buf);
    } catch (InvalidProtocolBufferException e) {
      throw Status.INVALID_ARGUMENT
          .withDescription("malformed Frame (" + buf.length + " bytes): " + e.getMessage())
          .asRuntimeException();
    }
  }

  /** The batch if the frame is exactly one batch field; null for any other frame. */
  private static InboundBatch readBatch(byte[] buf) throws InvalidProtocolBufferException {
    CodedInputStream in = CodedInputStream.newInstance(buf);
    try {
      if (in.readTag() != BATCH_TAG) {
        return null;
      }
      int length = in.readRawVarint32();
      int end = in.getTotalBytesRead() + length;
      if (length < 0 || end != buf.length) {
        return null; // something else follows: let protobuf parse the whole frame
      }
      int[] offsets = new int[64];
      int[] lengths = new int[64];
      int n = 0;
      while (in.getTotalBytesRead() < end) {
        int tag = in.readTag();
        if (tag != EVENT_TAG) {
          in.skipField(tag); // e.g. first_sequence, unknown fields
          continue;
        }
        int len = in.readRawVarint32();
        int at = in.getTotalBytesRead();
        if (len < 0 || at + len > end) {
          throw new InvalidProtocolBufferException("an event runs past the end of its batch");
        }
        if (n == offsets.length) {
          offsets = java.util.Arrays.copyOf(offsets, n * 2);
          lengths = java.util.Arrays.copyOf(lengths, n * 2);
        }
        offsets[n] = at;
        lengths[n] = len;
        n++;
        in.skipRawBytes(len);
      }
      return new InboundBatch(buf, offsets, lengths, n);
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
  }

  /**
   * The key of a serialized event, read from its wire form without parsing the rest; empty when
   * it has none.
   */
  public static ByteString keyOf(ByteString event) {
    try {
      CodedInputStream in = event.newCodedInput();
      in.enableAliasing(true);
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return ByteString.EMPTY;
        }
        if (tag == KEY_TAG) {
          return in.readBytes();
        }
        in.skipField(tag);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("malformed event: " + e.getMessage(), e);
    }
  }

  /**
   * A batch as gRPC's message stream: gRPC drains it into its own buffers, and forwarded events
   * are written there straight from the arrays they arrived in — one copy, no intermediate array.
   */
  private static final class BatchStream extends InputStream implements KnownLength, Drainable {
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[16 * 1024]);
    private final OutboundBatch batch;
    private final int batchLength;
    private final int total;
    private InputStream materialized;
    private boolean drained;

    BatchStream(OutboundBatch batch) {
      this.batch = batch;
      this.batchLength = batchLength(batch);
      this.total = 1 + CodedOutputStream.computeUInt32SizeNoTag(batchLength) + batchLength;
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      if (materialized != null) {
        return (int) materialized.transferTo(target);
      }
      // Small pieces (headers, ~200-byte events) are gathered in a per-thread scratch buffer and
      // handed to gRPC's framer in large writes: a write call per piece costs more than a copy.
      byte[] scratch = SCRATCH.get();
      CodedOutputStream out = CodedOutputStream.newInstance(scratch);
      out.writeUInt32NoTag(BATCH_TAG);
      out.writeUInt32NoTag(batchLength);
      for (int i = 0; i < batch.items().size(); i++) {
        Object item = batch.items().get(i);
        int size = batch.sizes()[i];
        if (out.spaceLeft() < 10 + size) {
          target.write(scratch, 0, out.getTotalBytesWritten());
          out = CodedOutputStream.newInstance(scratch);
        }
        out.writeUInt32NoTag(EVENT_TAG);
        out.writeUInt32NoTag(size);
        if (out.spaceLeft() >= size) {
          if (item instanceof Event e) {
            e.writeTo(out);
          } else {
            out.writeRawBytes((ByteString) item);
          }
        } else { // larger than the scratch buffer: straight through
          target.write(scratch, 0, out.getTotalBytesWritten());
          out = CodedOutputStream.newInstance(scratch);
          if (item instanceof Event e) {
            CodedOutputStream direct = CodedOutputStream.newInstance(target, 4096);
            e.writeTo(direct);
            direct.flush();
          } else {
            ((ByteString) item).writeTo(target);
          }
        }
      }
      target.write(scratch, 0, out.getTotalBytesWritten());
      drained = true;
      return total;
    }

    private InputStream bytes() {
      if (materialized == null) {
        materialized = new ByteArrayInputStream(drained ? new byte[0] : encode(batch));
      }
      return materialized;
    }

    @Override
    public int available() {
      return drained ? 0 : materialized != null ? bytesAvailable() : total;
    }

    private int bytesAvailable() {
      try {
        return materialized.available();
      } catch (IOException e) {
        return 0;
      }
    }

    @Override
    public int read() throws IOException {
      return bytes().read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return bytes().read(b, off, len);
    }
  }

  /** A serialized message that gRPC can size and drain without copying through a buffer. */
  private static final class MessageBytes extends ByteArrayInputStream implements KnownLength, Drainable {
    MessageBytes(byte[] bytes) {
      super(bytes);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = count - pos;
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }
}
