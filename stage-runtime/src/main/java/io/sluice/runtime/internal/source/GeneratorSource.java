package io.sluice.runtime.internal.source;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.sluice.proto.v1.ChannelOpen;
import com.google.protobuf.CodedOutputStream;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.task.InputChannel;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.internal.task.RawOperator;
import io.sluice.runtime.internal.task.Subtask;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.nio.ByteBuffer;
import java.time.Clock;

/**
 * Drives a {@code generator} stage: a synthetic input channel that always has a batch to make
 * (until {@code count} is reached), so the subtask's ordinary loop — which takes input only while
 * every output is ready — paces it. With a {@code rate}, the subtask's token bucket holds it.
 *
 * <p>Threading: confined to the subtask thread.
 */
public final class GeneratorSource implements Subtask.ItemHandler {
  private static final int BATCH = 256;
  private static final ByteString JSON_TYPE = ByteString.copyFromUtf8("application/json");
  private static final ByteString BINARY_TYPE = ByteString.copyFromUtf8("application/octet-stream");

  private final GeneratorStageFactory.Settings settings;
  private final String instanceId;
  private final Clock clock;
  private final TaskMetrics metrics;
  private final ByteString[] keys;
  private final byte[] filler;
  private long maxEventTime = Long.MIN_VALUE;
  private final TraceOrigin traces;
  private final String idPrefix;
  private Subtask subtask;
  private long generated;

  public GeneratorSource(
      GeneratorStageFactory.Settings settings,
      String instanceId,
      Clock clock,
      TaskMetrics metrics,
      TraceOrigin traces) {
    this.traces = traces;
    this.idPrefix = instanceId + "-";
    this.settings = settings;
    this.instanceId = instanceId;
    this.clock = clock;
    this.metrics = metrics;
    this.keys = new ByteString[settings.keys()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = ByteString.copyFromUtf8("key-" + i);
    }
    this.filler = new byte[settings.payloadBytes()];
    java.util.Arrays.fill(filler, (byte) 'x');
  }

  @Override
  public long maxEventTime() {
    return maxEventTime;
  }

  /** Attaches the synthetic channel to the subtask. Call before the subtask starts. */
  public void bind(Subtask task, Mailbox mailbox) {
    this.subtask = task;
    task.attach(new Synthetic(mailbox), ChannelOpen.newBuilder().setFromInstance("generator").build());
  }

  @Override
  public void handle(InputChannel channel, Object item, RawOperator.Emitter out) {
    int n = (Integer) item;
    long now = clock.millis();
    maxEventTime = Math.max(maxEventTime, now);
    if (!settings.json()) {
      for (int i = 0; i < n; i++) {
        out.emitRaw("", binaryEvent(generated++, now));
      }
      metrics.received(n);
      subtask.consumeTokens(n);
      return;
    }
    for (int i = 0; i < n; i++) {
      long seq = generated++;
      // Id and content type as bytes: protobuf then need not measure and encode them as UTF-8.
      out.emit("", Event.newBuilder()
          .setIdBytes(ByteString.copyFromUtf8(idPrefix + seq))
          .setKey(keys[(int) (mix(seq) % keys.length)])
          .setEventTime(now)
          .setPayload(payload(seq))
          .setContentTypeBytes(settings.json() ? JSON_TYPE : BINARY_TYPE)
          .setTrace(traces.newRoot())
          .build());
    }
    metrics.received(n);
    subtask.consumeTokens(n);
  }

  /**
   * A binary-format event written straight in its wire form (the bytes protobuf would write for
   * the same Event), as a load generator would send prebuilt messages: no Event object is built
   * and serialized per event. Field numbers are those of sluice.v1.Event and TraceContext.
   */
  ByteString binaryEvent(long seq, long now) {
    byte[] id = (idPrefix + seq).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    ByteString key = keys[(int) (mix(seq) % keys.length)];
    TraceContext trace = traces.newRoot();
    int traceSize = trace.getSerializedSize();
    int size = CodedOutputStream.computeByteArraySize(Event.ID_FIELD_NUMBER, id)
        + CodedOutputStream.computeBytesSize(Event.KEY_FIELD_NUMBER, key)
        + CodedOutputStream.computeInt64Size(Event.EVENT_TIME_FIELD_NUMBER, now)
        + CodedOutputStream.computeByteArraySize(Event.PAYLOAD_FIELD_NUMBER, filler)
        + CodedOutputStream.computeBytesSize(Event.CONTENT_TYPE_FIELD_NUMBER, BINARY_TYPE)
        + CodedOutputStream.computeTagSize(Event.TRACE_FIELD_NUMBER)
        + CodedOutputStream.computeUInt32SizeNoTag(traceSize) + traceSize;
    byte[] out = new byte[size];
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    try {
      cos.writeByteArray(Event.ID_FIELD_NUMBER, id);
      cos.writeBytes(Event.KEY_FIELD_NUMBER, key);
      cos.writeInt64(Event.EVENT_TIME_FIELD_NUMBER, now);
      // The payload: the creation time for latency measurement, then filler.
      cos.writeTag(Event.PAYLOAD_FIELD_NUMBER, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
      cos.writeUInt32NoTag(filler.length);
      cos.writeFixed64NoTag(Long.reverseBytes(System.nanoTime())); // big-endian, like ByteBuffer
      cos.writeRawBytes(filler, 8, filler.length - 8);
      cos.writeBytes(Event.CONTENT_TYPE_FIELD_NUMBER, BINARY_TYPE);
      cos.writeMessage(Event.TRACE_FIELD_NUMBER, trace);
      cos.checkNoSpaceLeft();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return UnsafeByteOperations.unsafeWrap(out);
  }

  private ByteString payload(long seq) {
    if (settings.json()) {
      String json = "{\"seq\":" + seq + ",\"key\":\"key-" + (mix(seq) % keys.length) + "\",\"pad\":\"";
      int pad = Math.max(0, settings.payloadBytes() - json.length() - 2);
      return ByteString.copyFromUtf8(json + "x".repeat(pad) + "\"}");
    }
    byte[] b = filler.clone();
    ByteBuffer.wrap(b).putLong(System.nanoTime());
    return UnsafeByteOperations.unsafeWrap(b);
  }

  private static long mix(long x) {
    // SplitMix64 finaliser: spreads sequential numbers over the key space deterministically.
    x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
    x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
    return (x ^ (x >>> 31)) & Long.MAX_VALUE;
  }

  @Override
  public void channelClosed(InputChannel channel, Throwable failure) {
    subtask.drain("generated " + generated + " events");
  }

  /** Always has the next batch to make, until the count is reached. */
  private final class Synthetic extends InputChannel {
    Synthetic(Mailbox mailbox) {
      super("generator " + instanceId, 1, mailbox);
    }

    private long remaining() {
      return settings.count() == 0 ? Long.MAX_VALUE : settings.count() - generated;
    }

    @Override
    public boolean hasItems() {
      return remaining() > 0;
    }

    @Override
    public Object poll() {
      return (int) Math.min(BATCH, remaining());
    }

    @Override
    public int depth() {
      return hasItems() ? 1 : 0;
    }

    @Override
    public Throwable failureAfterDrain() {
      return remaining() > 0 ? null : EXHAUSTED;
    }

    @Override
    public void release() {}

    @Override
    public void acknowledgeEnd(long eventsReceived) {}

    @Override
    public void abort(String reason) {}
  }

  private static final Throwable EXHAUSTED = new IllegalStateException("generator reached its count");
}
