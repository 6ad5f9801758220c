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
  // The generator's process spans; null when this process does not trace.
  private final io.sluice.runtime.internal.trace.ProcessSpans spans;
  private final String idPrefix;
  private final byte[] idPrefixBytes;
  // The decimal digits of the last sequence number written, right-aligned, '0'-padded on the left.
  private final byte[] seqDigits = new byte[20];
  private int seqDigitsLength;
  private long seqDigitsValue = -1;
  private Subtask subtask;
  private long generated;

  /** Records a root span per sampled event through {@code spans}; null when the process does not trace. */
  public GeneratorSource(
      GeneratorStageFactory.Settings settings,
      String instanceId,
      Clock clock,
      TaskMetrics metrics,
      TraceOrigin traces,
      io.sluice.runtime.internal.trace.ProcessSpans spans) {
    this.traces = traces;
    this.spans = spans;
    this.idPrefix = instanceId + "-";
    this.idPrefixBytes = idPrefix.getBytes(java.nio.charset.StandardCharsets.UTF_8);
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
      long created = System.nanoTime();
      for (int i = 0; i < n; i++) {
        out.emitRaw("", binaryEvent(generated++, now, created));
        if (spans != null && spans.active()) {
          spans.end(); // the span binaryEvent started for a sampled event
        }
      }
      metrics.received(n);
      subtask.consumeTokens(n);
      return;
    }
    for (int i = 0; i < n; i++) {
      long seq = generated++;
      ByteString payload = payload(seq);
      boolean sampled = traces.nextSampled();
      TraceContext trace;
      if (sampled && spans != null) {
        spans.startRoot(idPrefix + seq);
        trace = TraceOrigin.newRoot(spans.traceId(), spans.spanId(), true);
      } else {
        trace = traces.newRoot(sampled);
      }
      // Id and content type as bytes: protobuf then need not measure and encode them as UTF-8.
      out.emit("", Event.newBuilder()
          .setIdBytes(ByteString.copyFromUtf8(idPrefix + seq))
          .setKey(keys[(int) (mix(seq) % keys.length)])
          .setEventTime(now)
          .setPayload(payload)
          .setContentTypeBytes(settings.json() ? JSON_TYPE : BINARY_TYPE)
          .setTrace(trace)
          .build());
      if (spans != null && spans.active()) {
        spans.end();
      }
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
    return binaryEvent(seq, now, System.nanoTime());
  }

  /**
   * As {@link #binaryEvent(long, long)}, with the creation time given: the generator reads the
   * clock once per batch, not per event. The bytes are written by hand (tags, varints, fields in
   * field order), exactly as protobuf writes them: a test compares the two.
   */
  ByteString binaryEvent(long seq, long now, long createdNanos) {
    ByteString key = keys[(int) (mix(seq) % keys.length)];
    int keyLen = key.size();
    decimal(seq);
    int digits = seqDigitsLength;
    int idLen = idPrefixBytes.length + digits;
    boolean sampled = traces.nextSampled();
    int traceLen = TraceOrigin.rootSize(sampled);
    int payloadLen = filler.length;
    int size = 1 + varintSize(idLen) + idLen
        + 1 + varintSize(keyLen) + keyLen
        + 1 + varintSize(now)
        + 1 + varintSize(payloadLen) + payloadLen
        + 1 + 1 + BINARY_TYPE_BYTES.length
        + 1 + 1 + traceLen;
    byte[] out = new byte[size];
    int p = 0;
    out[p++] = (byte) ID_TAG;
    p = writeVarint(out, p, idLen);
    System.arraycopy(idPrefixBytes, 0, out, p, idPrefixBytes.length);
    p += idPrefixBytes.length;
    System.arraycopy(seqDigits, seqDigits.length - digits, out, p, digits);
    p += digits;
    out[p++] = (byte) KEY_TAG;
    p = writeVarint(out, p, keyLen);
    key.copyTo(out, p);
    p += keyLen;
    out[p++] = (byte) TIME_TAG;
    p = writeVarint(out, p, now);
    // The payload: the creation time (big-endian, as ByteBuffer writes it), then filler.
    out[p++] = (byte) PAYLOAD_TAG;
    p = writeVarint(out, p, payloadLen);
    for (int i = 7; i >= 0; i--) {
      out[p++] = (byte) (createdNanos >>> (8 * i));
    }
    System.arraycopy(filler, 8, out, p, payloadLen - 8);
    p += payloadLen - 8;
    out[p++] = (byte) CONTENT_TYPE_TAG;
    out[p++] = (byte) BINARY_TYPE_BYTES.length;
    System.arraycopy(BINARY_TYPE_BYTES, 0, out, p, BINARY_TYPE_BYTES.length);
    p += BINARY_TYPE_BYTES.length;
    out[p++] = (byte) TRACE_TAG;
    out[p++] = (byte) traceLen;
    if (sampled && spans != null) {
      // A root span for the event, which carries its ids; the caller ends it once the event is sent.
      spans.startRoot(idPrefix + seq);
      p = TraceOrigin.writeSampled(out, p, spans.traceId(), spans.spanId());
    } else {
      p = traces.writeRoot(out, p, sampled);
    }
    if (p != size) {
      throw new IllegalStateException("generator wrote " + p + " bytes of an event sized " + size);
    }
    return UnsafeByteOperations.unsafeWrap(out);
  }

  private static final int ID_TAG = Event.ID_FIELD_NUMBER << 3 | 2;
  private static final int KEY_TAG = Event.KEY_FIELD_NUMBER << 3 | 2;
  private static final int TIME_TAG = Event.EVENT_TIME_FIELD_NUMBER << 3;
  private static final int PAYLOAD_TAG = Event.PAYLOAD_FIELD_NUMBER << 3 | 2;
  private static final int CONTENT_TYPE_TAG = Event.CONTENT_TYPE_FIELD_NUMBER << 3 | 2;
  private static final int TRACE_TAG = Event.TRACE_FIELD_NUMBER << 3 | 2;
  private static final byte[] BINARY_TYPE_BYTES = BINARY_TYPE.toByteArray();

  /**
   * Puts the decimal digits of {@code seq} at the end of {@code seqDigits}: by adding one to the
   * previous number when it is the next one (the usual case: no division per event), else anew.
   */
  private void decimal(long seq) {
    if (seq == seqDigitsValue + 1 && seqDigitsValue >= 0) {
      int i = seqDigits.length - 1;
      while (seqDigits[i] == '9') {
        seqDigits[i--] = '0';
      }
      seqDigits[i]++;
      seqDigitsLength = Math.max(seqDigitsLength, seqDigits.length - i);
    } else {
      java.util.Arrays.fill(seqDigits, (byte) '0');
      long v = seq;
      int i = seqDigits.length;
      do {
        seqDigits[--i] = (byte) ('0' + v % 10);
        v /= 10;
      } while (v != 0);
      seqDigitsLength = seqDigits.length - i;
    }
    seqDigitsValue = seq;
  }

  private static int varintSize(long v) {
    return v < 0 ? 10 : (63 - Long.numberOfLeadingZeros(v | 1)) / 7 + 1;
  }

  private static int writeVarint(byte[] out, int p, long v) {
    while ((v & ~0x7FL) != 0) {
      out[p++] = (byte) ((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out[p++] = (byte) v;
    return p;
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

  /** Its position in a checkpoint: the number of events generated, under the instance's id. */
  @Override
  public void snapshot(long checkpointId, io.sluice.runtime.internal.state.StateCollector<?> state) {
    state.sourcePositions(java.util.Map.of(instanceId, generated));
  }

  /** Rewinds to a checkpoint's position: the same sequence numbers, keys and ids follow. */
  public void restore(java.util.Map<String, Long> positions) {
    generated = positions.getOrDefault(instanceId, 0L);
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
