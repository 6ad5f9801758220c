package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes finished spans as one OTLP {@code ExportTraceServiceRequest}
 * (opentelemetry/proto/collector/trace/v1), in one pass into one buffer.
 *
 * <p>Why not the SDK's OTLP marshaler: a stage's spans differ in little but their ids, times and
 * message id, and the SDK's marshaler sizes and then writes every attribute of every span afresh
 * (key and value UTF-8 lengths, a map lookup per id), which cost a stage several microseconds of
 * CPU a span. Here an attribute whose value is the very object it was in the previous span (the
 * stage's constant messaging attributes) is copied from its bytes of last time, and the resource
 * and scope are encoded once while they stay the same objects.
 *
 * <p>Spans are grouped by resource and then by scope, by identity (the SDK gives every span of a
 * tracer the same objects); equal objects that are not the same only make more groups, which
 * OTLP allows.
 *
 * <p>Threading: not thread-safe; each thread that encodes has its own encoder.
 */
public final class OtlpSpanEncoder {
  // ExportTraceServiceRequest
  private static final int REQUEST_RESOURCE_SPANS = 1;
  // ResourceSpans
  private static final int RESOURCE = 1;
  private static final int SCOPE_SPANS = 2;
  private static final int RESOURCE_SCHEMA_URL = 3;
  // Resource
  private static final int RESOURCE_ATTRIBUTES = 1;
  // ScopeSpans
  private static final int SCOPE = 1;
  private static final int SPANS = 2;
  private static final int SCOPE_SCHEMA_URL = 3;
  // InstrumentationScope
  private static final int SCOPE_NAME = 1;
  private static final int SCOPE_VERSION = 2;
  private static final int SCOPE_ATTRIBUTES = 3;
  // Span
  private static final int TRACE_ID = 1;
  private static final int SPAN_ID = 2;
  private static final int TRACE_STATE = 3;
  private static final int PARENT_SPAN_ID = 4;
  private static final int NAME = 5;
  private static final int KIND = 6;
  private static final int START_TIME = 7;
  private static final int END_TIME = 8;
  private static final int ATTRIBUTES = 9;
  private static final int DROPPED_ATTRIBUTES = 10;
  private static final int EVENTS = 11;
  private static final int DROPPED_EVENTS = 12;
  private static final int LINKS = 13;
  private static final int DROPPED_LINKS = 14;
  private static final int STATUS = 15;
  private static final int FLAGS = 16;
  // Span.Event
  private static final int EVENT_TIME = 1;
  private static final int EVENT_NAME = 2;
  private static final int EVENT_ATTRIBUTES = 3;
  private static final int EVENT_DROPPED_ATTRIBUTES = 4;
  // Span.Link
  private static final int LINK_TRACE_ID = 1;
  private static final int LINK_SPAN_ID = 2;
  private static final int LINK_TRACE_STATE = 3;
  private static final int LINK_ATTRIBUTES = 4;
  private static final int LINK_DROPPED_ATTRIBUTES = 5;
  private static final int LINK_FLAGS = 6;
  // Status
  private static final int STATUS_MESSAGE = 2;
  private static final int STATUS_CODE = 3;
  // KeyValue, AnyValue, ArrayValue
  private static final int KEY = 1;
  private static final int VALUE = 2;
  private static final int STRING_VALUE = 1;
  private static final int BOOL_VALUE = 2;
  private static final int INT_VALUE = 3;
  private static final int DOUBLE_VALUE = 4;
  private static final int ARRAY_VALUE = 5;
  private static final int ARRAY_VALUES = 1;
  // SpanFlags: the parent's (or link's) remoteness is known, and whether it is remote.
  private static final int HAS_IS_REMOTE = 0x100;
  private static final int IS_REMOTE = 0x200;
  /** Attribute keys remembered at most; beyond, attributes are encoded afresh each time. */
  private static final int MAX_CACHED_KEYS = 1024;
  /** Span attribute positions whose key and cache entry are remembered (see writeSpanAttributes). */
  private static final int MAX_POSITIONS = 32;

  private final ProtoWriter out = new ProtoWriter(64 * 1024);
  private final Map<AttributeKey<?>, CachedValue> cache = new IdentityHashMap<>();
  private final AttributeKey<?>[] positionKeys = new AttributeKey<?>[MAX_POSITIONS];
  private final CachedValue[] positionValues = new CachedValue[MAX_POSITIONS];
  private int position;
  private Resource resource;
  private byte[] resourceBytes;
  private InstrumentationScopeInfo scope;
  private byte[] scopeBytes;
  private TraceState traceState;
  private String traceStateHeader;

  /**
   * The value an attribute key had the time before, and once the same object came twice, its
   * KeyValue message's bytes (without the field's tag and length, so any field can use them).
   */
  private static final class CachedValue {
    Object value;
    byte[] keyValue;
  }

  /** The request carrying {@code spans}, ready to send. */
  public byte[] encode(Collection<SpanData> spans) {
    List<EncodedSpan> encoded = new ArrayList<>(spans.size());
    for (SpanData span : spans) {
      encoded.add(encodeSpan(span));
    }
    return encodeRequest(encoded);
  }

  /**
   * One span's {@code Span} message, to be put in a request by {@link #encodeRequest} (possibly by
   * another encoder, on another thread).
   */
  public EncodedSpan encodeSpan(SpanData span) {
    out.reset();
    writeSpan(span);
    return new EncodedSpan(span.getResource(), span.getInstrumentationScopeInfo(), out.toByteArray());
  }

  /**
   * The request carrying spans encoded by {@link #encodeSpan}, ready to send. The sizes of the
   * nested messages are added up first, so the request is written once, front to back, into an
   * array of its exact size: no nested message is moved to make room for its length, and nothing
   * is copied out of a buffer at the end (a request of 512 spans is some 190 KB).
   */
  public byte[] encodeRequest(List<EncodedSpan> spans) {
    List<ResourceGroup> groups = group(spans);
    int total = 0;
    for (ResourceGroup r : groups) {
      r.size = resourceField(r.resource).length + stringFieldSize(RESOURCE_SCHEMA_URL, r.resource.getSchemaUrl());
      for (ScopeGroup s : r.scopes) {
        s.size = scopeField(s.scope).length + stringFieldSize(SCOPE_SCHEMA_URL, s.scope.getSchemaUrl());
        for (EncodedSpan span : s.spans) {
          s.size += fieldSize(SPANS, span.message().length);
        }
        r.size += fieldSize(SCOPE_SPANS, s.size);
      }
      total += fieldSize(REQUEST_RESOURCE_SPANS, r.size);
    }
    ProtoWriter request = new ProtoWriter(total);
    for (ResourceGroup r : groups) {
      request.tag(REQUEST_RESOURCE_SPANS, ProtoWriter.LEN);
      request.varint32(r.size);
      request.raw(resourceField(r.resource));
      for (ScopeGroup s : r.scopes) {
        request.tag(SCOPE_SPANS, ProtoWriter.LEN);
        request.varint32(s.size);
        request.raw(scopeField(s.scope));
        for (EncodedSpan span : s.spans) {
          request.tag(SPANS, ProtoWriter.LEN);
          request.varint32(span.message().length);
          request.raw(span.message());
        }
        writeNonEmpty(request, SCOPE_SCHEMA_URL, s.scope.getSchemaUrl());
      }
      writeNonEmpty(request, RESOURCE_SCHEMA_URL, r.resource.getSchemaUrl());
    }
    // Throws when what was written is not the size added up: its lengths would be wrong.
    return request.filled();
  }

  /** The bytes of a length-delimited field {@code field} whose value is {@code length} bytes. */
  private static int fieldSize(int field, int length) {
    return ProtoWriter.varintSize(field << 3) + ProtoWriter.varintSize(length) + length;
  }

  /** The bytes {@link #writeNonEmpty} writes for {@code s}. */
  private static int stringFieldSize(int field, String s) {
    return s == null || s.isEmpty() ? 0 : fieldSize(field, ProtoWriter.utf8Length(s));
  }

  /**
   * A span encoded as an OTLP {@code Span} message ({@code message}: its fields, without a tag or
   * length), with the resource and scope it is to be sent under.
   */
  public record EncodedSpan(Resource resource, InstrumentationScopeInfo scope, byte[] message) {}

  /** The spans of one scope in a request, and (once summed) the size of their ScopeSpans message. */
  private static final class ScopeGroup {
    final InstrumentationScopeInfo scope;
    final List<EncodedSpan> spans;
    int size;

    ScopeGroup(InstrumentationScopeInfo scope, List<EncodedSpan> spans) {
      this.scope = scope;
      this.spans = spans;
    }
  }

  /** The scopes of one resource in a request, and the size of their ResourceSpans message. */
  private static final class ResourceGroup {
    final Resource resource;
    final List<ScopeGroup> scopes;
    int size;

    ResourceGroup(Resource resource, List<ScopeGroup> scopes) {
      this.resource = resource;
      this.scopes = scopes;
    }
  }

  private static List<ResourceGroup> group(List<EncodedSpan> spans) {
    List<ResourceGroup> groups = new ArrayList<>(1);
    ResourceGroup lastResource = null;
    ScopeGroup lastScope = null;
    for (EncodedSpan span : spans) {
      Resource res = span.resource();
      InstrumentationScopeInfo sc = span.scope();
      if (lastResource == null || lastResource.resource != res) {
        lastResource = null;
        for (ResourceGroup g : groups) {
          if (g.resource == res) {
            lastResource = g;
            break;
          }
        }
        if (lastResource == null) {
          lastResource = new ResourceGroup(res, new ArrayList<>(1));
          groups.add(lastResource);
        }
        lastScope = null;
      }
      if (lastScope == null || lastScope.scope != sc) {
        lastScope = null;
        for (ScopeGroup g : lastResource.scopes) {
          if (g.scope == sc) {
            lastScope = g;
            break;
          }
        }
        if (lastScope == null) {
          lastScope = new ScopeGroup(sc, new ArrayList<>(spans.size()));
          lastResource.scopes.add(lastScope);
        }
      }
      lastScope.spans.add(span);
    }
    return groups;
  }

  /** The request's {@code resource} field for {@code r}, encoded once while the same object comes. */
  private byte[] resourceField(Resource r) {
    if (r != resource) {
      out.reset();
      int m = out.begin(RESOURCE);
      writeAttributes(RESOURCE_ATTRIBUTES, r.getAttributes());
      out.end(m);
      resource = r;
      resourceBytes = out.copyFrom(0);
    }
    return resourceBytes;
  }

  /** The request's {@code scope} field for {@code s}, encoded once while the same object comes. */
  private byte[] scopeField(InstrumentationScopeInfo s) {
    if (s != scope) {
      out.reset();
      int m = out.begin(SCOPE);
      writeNonEmpty(SCOPE_NAME, s.getName());
      writeNonEmpty(SCOPE_VERSION, s.getVersion());
      writeAttributes(SCOPE_ATTRIBUTES, s.getAttributes());
      out.end(m);
      scope = s;
      scopeBytes = out.copyFrom(0);
    }
    return scopeBytes;
  }

  private void writeSpan(SpanData span) {
    SpanContext context = span.getSpanContext();
    out.hexField(TRACE_ID, context.getTraceId());
    out.hexField(SPAN_ID, context.getSpanId());
    writeNonEmpty(TRACE_STATE, header(context.getTraceState()));
    SpanContext parent = span.getParentSpanContext();
    if (parent.isValid()) {
      out.hexField(PARENT_SPAN_ID, parent.getSpanId());
    }
    writeNonEmpty(NAME, span.getName());
    writeUInt(KIND, switch (span.getKind()) {
      case INTERNAL -> 1;
      case SERVER -> 2;
      case CLIENT -> 3;
      case PRODUCER -> 4;
      case CONSUMER -> 5;
    });
    out.tag(START_TIME, ProtoWriter.FIXED64);
    out.fixed64(span.getStartEpochNanos());
    out.tag(END_TIME, ProtoWriter.FIXED64);
    out.fixed64(span.getEndEpochNanos());
    Attributes attributes = span.getAttributes();
    writeSpanAttributes(attributes);
    writeUInt(DROPPED_ATTRIBUTES, span.getTotalAttributeCount() - attributes.size());
    List<EventData> events = span.getEvents();
    for (EventData e : events) {
      int m = out.begin(EVENTS);
      out.tag(EVENT_TIME, ProtoWriter.FIXED64);
      out.fixed64(e.getEpochNanos());
      writeNonEmpty(EVENT_NAME, e.getName());
      writeAttributes(EVENT_ATTRIBUTES, e.getAttributes());
      writeUInt(EVENT_DROPPED_ATTRIBUTES, e.getDroppedAttributesCount());
      out.end(m);
    }
    writeUInt(DROPPED_EVENTS, span.getTotalRecordedEvents() - events.size());
    List<LinkData> links = span.getLinks();
    for (LinkData l : links) {
      SpanContext lc = l.getSpanContext();
      int m = out.begin(LINKS);
      out.hexField(LINK_TRACE_ID, lc.getTraceId());
      out.hexField(LINK_SPAN_ID, lc.getSpanId());
      writeNonEmpty(LINK_TRACE_STATE, header(lc.getTraceState()));
      writeAttributes(LINK_ATTRIBUTES, l.getAttributes());
      writeUInt(LINK_DROPPED_ATTRIBUTES, l.getTotalAttributeCount() - l.getAttributes().size());
      out.tag(LINK_FLAGS, ProtoWriter.FIXED32);
      out.fixed32(flags(lc, lc.isRemote()));
      out.end(m);
    }
    writeUInt(DROPPED_LINKS, span.getTotalRecordedLinks() - links.size());
    StatusData status = span.getStatus();
    int m = out.begin(STATUS);
    writeNonEmpty(STATUS_MESSAGE, status.getDescription());
    writeUInt(STATUS_CODE, switch (status.getStatusCode()) {
      case UNSET -> 0;
      case OK -> 1;
      case ERROR -> 2;
    });
    out.end(m);
    out.tag(FLAGS, ProtoWriter.FIXED32);
    out.fixed32(flags(context, parent.isRemote()));
  }

  private static int flags(SpanContext context, boolean remote) {
    return (context.getTraceFlags().asByte() & 0xFF) | HAS_IS_REMOTE | (remote ? IS_REMOTE : 0);
  }

  /** The W3C {@code tracestate} header of {@code state} ("" when empty), kept while it repeats. */
  private String header(TraceState state) {
    if (state.isEmpty()) {
      return "";
    }
    if (state != traceState) {
      StringBuilder b = new StringBuilder();
      state.forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(k).append('=').append(v));
      traceState = state;
      traceStateHeader = b.toString();
    }
    return traceStateHeader;
  }

  private void writeAttributes(int field, Attributes attributes) {
    attributes.forEach((k, v) -> writeKeyValue(field, k, v, cache.get(k)));
  }

  /**
   * A span's attributes. The spans of one stage have the same keys, and the SDK hands them over
   * in the same order each time, so the cache entry of the attribute at position i is looked for
   * first where it was for the span before: no hashing for the common case.
   */
  private void writeSpanAttributes(Attributes attributes) {
    position = 0;
    attributes.forEach((k, v) -> {
      int i = position++;
      CachedValue cached;
      if (i < MAX_POSITIONS && positionKeys[i] == k) {
        cached = positionValues[i];
      } else {
        cached = cache.get(k);
      }
      CachedValue now = writeKeyValue(ATTRIBUTES, k, v, cached);
      if (i < MAX_POSITIONS) {
        positionKeys[i] = k;
        positionValues[i] = now;
      }
    });
  }

  /** Writes one attribute; returns its cache entry (null when the cache is full). */
  private CachedValue writeKeyValue(int field, AttributeKey<?> key, Object value, CachedValue cached) {
    if (cached != null && cached.value == value && cached.keyValue != null) {
      out.tag(field, ProtoWriter.LEN);
      out.varint32(cached.keyValue.length);
      out.raw(cached.keyValue);
      return cached;
    }
    int kv = out.begin(field);
    int from = out.position();
    out.stringField(KEY, key.getKey());
    int any = out.begin(VALUE);
    writeAnyValue(key, value);
    out.end(any);
    byte[] body = cached != null && cached.value == value ? out.copyFrom(from) : null;
    out.end(kv);
    if (cached == null) {
      if (cache.size() < MAX_CACHED_KEYS) {
        cached = new CachedValue();
        cached.value = value;
        cache.put(key, cached);
      }
    } else {
      // The same object twice in a row is likely constant: keep its bytes from now on.
      cached.value = value;
      cached.keyValue = body;
    }
    return cached;
  }

  private void writeAnyValue(AttributeKey<?> key, Object value) {
    switch (key.getType()) {
      case STRING -> out.stringField(STRING_VALUE, (String) value);
      case BOOLEAN -> writeBool(BOOL_VALUE, (Boolean) value);
      case LONG -> writeLong(INT_VALUE, (Long) value);
      case DOUBLE -> writeDouble(DOUBLE_VALUE, (Double) value);
      case STRING_ARRAY, BOOLEAN_ARRAY, LONG_ARRAY, DOUBLE_ARRAY -> {
        int array = out.begin(ARRAY_VALUE);
        for (Object element : (List<?>) value) {
          int any = out.begin(ARRAY_VALUES);
          switch (key.getType()) {
            case STRING_ARRAY -> out.stringField(STRING_VALUE, (String) element);
            case BOOLEAN_ARRAY -> writeBool(BOOL_VALUE, (Boolean) element);
            case LONG_ARRAY -> writeLong(INT_VALUE, (Long) element);
            default -> writeDouble(DOUBLE_VALUE, (Double) element);
          }
          out.end(any);
        }
        out.end(array);
      }
    }
  }

  private void writeBool(int field, boolean v) {
    out.tag(field, ProtoWriter.VARINT);
    out.varint32(v ? 1 : 0);
  }

  private void writeLong(int field, long v) {
    out.tag(field, ProtoWriter.VARINT);
    out.varint64(v);
  }

  private void writeDouble(int field, double v) {
    out.tag(field, ProtoWriter.FIXED64);
    out.fixed64(Double.doubleToRawLongBits(v));
  }

  /** A uint32 or enum field, left out when zero as proto3 does. */
  private void writeUInt(int field, int v) {
    if (v != 0) {
      out.tag(field, ProtoWriter.VARINT);
      out.varint32(v);
    }
  }

  /** A string field, left out when null or empty as proto3 does. */
  private void writeNonEmpty(int field, String s) {
    writeNonEmpty(out, field, s);
  }

  private static void writeNonEmpty(ProtoWriter to, int field, String s) {
    if (s != null && !s.isEmpty()) {
      to.stringField(field, s);
    }
  }
}
