package io.sluice.runtime.internal.trace;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.TraceStateBuilder;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The {@code process} spans of one subtask: one span per sampled event, named {@code process
 * <stage>}, of kind CONSUMER, a child of the context the event carries (the previous hop's span),
 * with the OpenTelemetry messaging conventions' attributes. While a span is {@linkplain #active()
 * active}, {@link #retrace} gives what the stage sends on the context of this span (same trace,
 * this span's id), so the next stage's span is its child.
 *
 * <p>Attributes: {@code messaging.system=sluice}, {@code messaging.operation.type=process}, {@code
 * messaging.operation.name=process}, {@code messaging.destination.name} and {@code
 * messaging.consumer.group.name} = the stage name, {@code messaging.destination.partition.id} = the
 * instance index (the partition of the stage's input this instance consumes), {@code
 * messaging.message.id}. The instance is the resource's {@code service.instance.id}, and the
 * conventions' opt-in {@code messaging.message.body.size} is left out: every attribute is bytes
 * in every exported span (see docs/tracing.md, "Cost"). A failure (dead letter) sets status ERROR with the reason and {@code
 * error.type}.
 *
 * <p>Only sampled events reach this class: the runtime finds the sampled flag while scanning the
 * event (see {@link TraceWire}), so unsampled events cost no SDK call.
 *
 * <p>Threading: confined to the subtask thread (spans start and end there; the SDK exports on its
 * own thread).
 */
public final class ProcessSpans {
  static final AttributeKey<String> MESSAGING_SYSTEM = AttributeKey.stringKey("messaging.system");
  static final AttributeKey<String> OPERATION_TYPE = AttributeKey.stringKey("messaging.operation.type");
  static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("messaging.operation.name");
  static final AttributeKey<String> DESTINATION_NAME = AttributeKey.stringKey("messaging.destination.name");
  static final AttributeKey<String> CONSUMER_GROUP = AttributeKey.stringKey("messaging.consumer.group.name");
  static final AttributeKey<String> PARTITION_ID = AttributeKey.stringKey("messaging.destination.partition.id");
  static final AttributeKey<String> MESSAGE_ID = AttributeKey.stringKey("messaging.message.id");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

  private final Tracer tracer;
  private final String spanName;
  private final Attributes common;
  // The span of the event being processed and its ids in wire form; null between events.
  private Span span;
  private byte[] traceId;
  private byte[] spanId;
  private ByteString spanIdWire;

  private ProcessSpans(Tracer tracer, String stageName, int instanceIndex) {
    this.tracer = tracer;
    this.spanName = "process " + stageName;
    this.common = Attributes.builder()
        .put(MESSAGING_SYSTEM, "sluice")
        .put(OPERATION_TYPE, "process")
        .put(OPERATION_NAME, "process")
        .put(DESTINATION_NAME, stageName)
        .put(CONSUMER_GROUP, stageName)
        .put(PARTITION_ID, Integer.toString(instanceIndex))
        .build();
  }

  /** The spans of one subtask, or null when the process does not trace (then record nothing). */
  public static ProcessSpans create(StageTracing tracing, String stageName, int instanceIndex) {
    return tracing.enabled() ? new ProcessSpans(tracing.tracer(), stageName, instanceIndex) : null;
  }

  /** Whether a parsed event's context says "sampled" (cheap: no id is looked at). */
  public static boolean sampled(Event e) {
    return e.hasTrace() && (e.getTrace().getTraceFlags() & 1) != 0;
  }

  /**
   * Starts the span of a sampled input event, the child of the context it carries.
   *
   * @return false (and no span) when that context is not a valid one
   */
  public boolean start(Event input) {
    return startChild(input.getTrace(), input.getId());
  }

  /**
   * Starts the span of a sampled input event given in its wire form, {@code b[offset, offset +
   * length)}, as {@link #start(Event)} does but without parsing the event: its ids, trace state and
   * event id are read where they lie.
   *
   * @return false (and no span) when the event carries no valid context, or is malformed
   */
  public boolean startWire(byte[] b, int offset, int length) {
    return startWire(b, offset, length, TraceWire.locate(b, offset, length));
  }

  /**
   * As {@link #startWire(byte[], int, int)}, with where the event's trace context lies already
   * known ({@code trace} as {@link TraceWire#locate} gives it; -1 for none), as the scan that found
   * the event sampled gives it: the event is not scanned for it again.
   */
  public boolean startWire(byte[] b, int offset, int length, long trace) {
    if (trace < 0) {
      return false;
    }
    int at = (int) (trace >>> 32);
    int len = (int) trace;
    int traceIdAt = TraceWire.traceIdAt(b, at, len);
    int spanIdAt = TraceWire.spanIdAt(b, at, len);
    if (traceIdAt < 0 || spanIdAt < 0) {
      return false;
    }
    return startChild(Arrays.copyOfRange(b, traceIdAt, traceIdAt + 16), Arrays.copyOfRange(b, spanIdAt, spanIdAt + 8),
        string(b, TraceWire.traceStateAt(b, at, len)), string(b, TraceWire.idAt(b, offset, length)));
  }

  /** The UTF-8 text at a {@code (position << 32) | length} TraceWire gave; "" for -1. */
  private static String string(byte[] b, long where) {
    return where < 0 ? "" : new String(b, (int) (where >>> 32), (int) where, StandardCharsets.UTF_8);
  }

  /**
   * Starts a span that is the child of {@code parent} (a client's context at the ingest).
   *
   * @return false (and no span) when {@code parent} is not a valid context
   */
  public boolean startChild(TraceContext parent, String messageId) {
    requireNoSpan();
    if (parent.getTraceId().size() != 16 || parent.getSpanId().size() != 8) {
      return false;
    }
    return startChild(parent.getTraceId().toByteArray(), parent.getSpanId().toByteArray(), parent.getTraceState(),
        messageId);
  }

  private boolean startChild(byte[] parentTraceId, byte[] parentSpanId, String traceState, String messageId) {
    requireNoSpan();
    SpanContext remote = SpanContext.createFromRemoteParent(
        TraceId.fromBytes(parentTraceId), SpanId.fromBytes(parentSpanId), TraceFlags.getSampled(),
        traceState(traceState));
    if (!remote.isValid()) {
      return false;
    }
    // A child is in its parent's trace: the id is at hand in bytes (the SDK keeps it in hex).
    begin(tracer.spanBuilder(spanName).setParent(Context.root().with(Span.wrap(remote))), messageId, parentTraceId);
    return true;
  }

  /** Starts a root span, for a source that decided to sample a new trace. */
  public void startRoot(String messageId) {
    requireNoSpan();
    begin(tracer.spanBuilder(spanName).setNoParent(), messageId, null);
  }

  private void requireNoSpan() {
    if (span != null) {
      throw new IllegalStateException("a process span is already active");
    }
  }

  /** Starts the span; {@code traceIdBytes} is its trace id when the caller has it, else null. */
  private void begin(SpanBuilder builder, String messageId, byte[] traceIdBytes) {
    Span s = builder
        .setSpanKind(SpanKind.CONSUMER)
        .setAllAttributes(common)
        .setAttribute(MESSAGE_ID, messageId)
        .startSpan();
    SpanContext c = s.getSpanContext();
    span = s;
    traceId = traceIdBytes != null ? traceIdBytes : c.getTraceIdBytes();
    spanId = c.getSpanIdBytes();
    spanIdWire = UnsafeByteOperations.unsafeWrap(spanId);
  }

  /** Whether a span is active (an event is being processed and was sampled). */
  public boolean active() {
    return span != null;
  }

  /** The active span's trace id (16 bytes; do not modify). */
  public byte[] traceId() {
    return traceId;
  }

  /** The active span's id (8 bytes; do not modify). */
  public byte[] spanId() {
    return spanId;
  }

  /**
   * The context an output carries: {@code incoming}'s trace state, this span's trace and span
   * id, sampled. {@code incoming} may be null (a new root).
   */
  public TraceContext outgoing(TraceContext incoming) {
    TraceContext.Builder b = incoming == null ? TraceContext.newBuilder() : incoming.toBuilder();
    return b.setTraceId(UnsafeByteOperations.unsafeWrap(traceId))
        .setSpanId(spanIdWire)
        .setTraceFlags((incoming == null ? 0 : incoming.getTraceFlags()) | TraceFlags.getSampled().asByte())
        .build();
  }

  /** Marks the active span failed: the event was dead-lettered for {@code reason}. */
  public void failed(String reason, Throwable cause) {
    if (span == null) {
      return;
    }
    span.setStatus(StatusCode.ERROR, reason);
    span.setAttribute(ERROR_TYPE, cause == null ? "dead_letter" : cause.getClass().getName());
    if (cause != null) {
      span.recordException(cause);
    }
  }

  /** Ends the active span. */
  public void end() {
    Span s = span;
    span = null;
    traceId = null;
    spanId = null;
    spanIdWire = null;
    if (s != null) {
      s.end();
    }
  }

  /**
   * What to send for an output ({@link ByteString} wire form or {@link Event}) while a span is
   * active: when it carries the active span's trace, a copy with this span's id; else it as it is.
   */
  public Object retrace(Object output) {
    return output instanceof ByteString wire ? retrace(wire) : retrace((Event) output);
  }

  /** As {@link #retrace(Object)}, for an event. */
  public Event retrace(Event e) {
    if (span == null || !e.hasTrace() || !e.getTrace().getTraceId().equals(UnsafeByteOperations.unsafeWrap(traceId))) {
      return e;
    }
    return e.toBuilder().setTrace(outgoing(e.getTrace())).build();
  }

  /**
   * As {@link #retrace(Object)}, for an event's wire form: the span id bytes are overwritten in a
   * copy (same length, so nothing else moves); only an unusual layout takes a parse and re-encode.
   */
  public Object retrace(ByteString wire) {
    if (span == null) {
      return wire;
    }
    byte[] b = wire.toByteArray();
    long at = TraceWire.locate(b, 0, b.length);
    if (at >= 0) {
      int pos = (int) (at >>> 32);
      int len = (int) at;
      int traceAt = TraceWire.traceIdAt(b, pos, len);
      int spanAt = TraceWire.spanIdAt(b, pos, len);
      if (traceAt >= 0 && spanAt >= 0 && TraceWire.sampled(b, pos, len)) {
        if (!Arrays.equals(b, traceAt, traceAt + 16, traceId, 0, 16)) {
          return wire; // another trace's event, forwarded while this one is processed
        }
        System.arraycopy(spanId, 0, b, spanAt, 8);
        return UnsafeByteOperations.unsafeWrap(b);
      }
    }
    try {
      Event e = Event.parseFrom(b);
      Event retraced = retrace(e);
      return retraced == e ? wire : retraced;
    } catch (InvalidProtocolBufferException e) {
      return wire; // not an event: whoever parses it reports that
    }
  }

  /** A W3C {@code tracestate} header as the API's TraceState; entries it finds invalid are dropped. */
  static TraceState traceState(String header) {
    if (header.isEmpty()) {
      return TraceState.getDefault();
    }
    String[] members = header.split(",");
    TraceStateBuilder b = TraceState.builder();
    // put() places an entry first, and the header lists the newest first: add from the oldest.
    for (int i = members.length - 1; i >= 0; i--) {
      String m = members[i].trim();
      int eq = m.indexOf('=');
      if (eq > 0) {
        b.put(m.substring(0, eq), m.substring(eq + 1));
      }
    }
    return b.build();
  }
}
