package io.sluice.runtime.internal.trace;

import com.google.protobuf.UnsafeByteOperations;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * Where traces start: a source gives every event that arrives without a valid trace context a new
 * one (a random trace id and the id of the source's span), and decides sampling once, by ratio,
 * in the W3C "sampled" flag; every later stage honours that flag. A valid context from the client
 * is kept, so its trace continues.
 *
 * <p>Threading: confined to the source's subtask thread (the random generator is not shared).
 */
public final class TraceOrigin {
  private static final HexFormat HEX = HexFormat.of();

  private final double sampleRatio;
  private final SplittableRandom random;

  public TraceOrigin(double sampleRatio, long seed) {
    if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
      throw new IllegalArgumentException("sampleRatio must be in [0, 1], got " + sampleRatio);
    }
    this.sampleRatio = sampleRatio;
    this.random = new SplittableRandom(seed);
  }

  /** The ratio used when neither the stage nor the OTEL_* variables set one. */
  public static final double DEFAULT_SAMPLE_RATIO = 0.01;

  /** From a source's settings and the process's OTEL_* settings; see {@link #sampleRatio}. */
  public static TraceOrigin from(StageConfig config) {
    return new TraceOrigin(sampleRatio(config, OtelSettings::lookup), System.nanoTime() ^ ProcessHandle.current().pid());
  }

  /**
   * The ratio of root traces a source samples: the stage's {@code tracing.sampleRatio}; else, when
   * {@code OTEL_TRACES_SAMPLER} is {@code traceidratio} or {@code parentbased_traceidratio}, {@code
   * OTEL_TRACES_SAMPLER_ARG} (1.0 when unset, as the OpenTelemetry SDK reads it); {@code
   * always_on}/{@code parentbased_always_on} mean 1 and {@code always_off}/{@code
   * parentbased_always_off} 0; else {@link #DEFAULT_SAMPLE_RATIO}. This is the only ratio applied:
   * every later stage follows the sampled flag.
   *
   * @param otel an OpenTelemetry setting by its property name ({@code otel.traces.sampler}), or null
   * @throws ConfigException when the chosen setting is not a number between 0 and 1
   */
  public static double sampleRatio(StageConfig config, java.util.function.Function<String, String> otel) {
    if (config.has("tracing.sampleRatio")) {
      double ratio = config.doubleValue("tracing.sampleRatio", DEFAULT_SAMPLE_RATIO);
      if (!(ratio >= 0 && ratio <= 1)) {
        throw new ConfigException("tracing.sampleRatio",
            "'tracing.sampleRatio' must be between 0 and 1, got " + ratio);
      }
      return ratio;
    }
    String sampler = otel.apply("otel.traces.sampler");
    if (sampler == null) {
      return DEFAULT_SAMPLE_RATIO;
    }
    switch (sampler.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "always_on", "parentbased_always_on" -> {
        return 1.0;
      }
      case "always_off", "parentbased_always_off" -> {
        return 0.0;
      }
      case "traceidratio", "parentbased_traceidratio" -> {
        String arg = otel.apply("otel.traces.sampler.arg");
        if (arg == null || arg.isBlank()) {
          return 1.0;
        }
        double ratio;
        try {
          ratio = Double.parseDouble(arg.trim());
        } catch (NumberFormatException e) {
          ratio = Double.NaN;
        }
        if (!(ratio >= 0 && ratio <= 1)) {
          throw new ConfigException("OTEL_TRACES_SAMPLER_ARG",
              "OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1 for the " + sampler
                  + " sampler, got '" + arg + "'; or set the stage's tracing.sampleRatio");
        }
        return ratio;
      }
      default -> {
        return DEFAULT_SAMPLE_RATIO;
      }
    }
  }

  /** Validates a source's tracing settings (for StageFactory.create). */
  public static void validate(StageConfig config) {
    from(config);
  }

  /** The ratio this origin samples at. */
  public double sampleRatio() {
    return sampleRatio;
  }

  /** True when the context is a well-formed W3C context (per the OpenTelemetry API's rules). */
  public static boolean isValid(TraceContext t) {
    if (t.getTraceId().size() != 16 || t.getSpanId().size() != 8) {
      return false;
    }
    return SpanContext.create(
            HEX.formatHex(t.getTraceId().toByteArray()),
            HEX.formatHex(t.getSpanId().toByteArray()),
            TraceFlags.fromByte((byte) t.getTraceFlags()),
            TraceState.getDefault())
        .isValid();
  }

  /** A new root context: a fresh trace, the sampling decision made here. */
  public TraceContext newRoot() {
    byte[] traceId = randomId(16);
    byte[] spanId = randomId(8);
    return newRoot(traceId, spanId, nextSampled());
  }

  /** A new root context with random ids, the sampling decision made by the caller. */
  public TraceContext newRoot(boolean sampled) {
    return newRoot(randomId(16), randomId(8), sampled);
  }

  private byte[] randomId(int length) {
    byte[] id = new byte[length];
    do {
      fill(id);
    } while (isZero(id));
    return id;
  }

  /**
   * A new root context with the given ids, sampled or not; a source that records a span for a
   * sampled event passes its span's ids.
   */
  public static TraceContext newRoot(byte[] traceId, byte[] spanId, boolean sampled) {
    return TraceContext.newBuilder()
        .setTraceId(UnsafeByteOperations.unsafeWrap(traceId))
        .setSpanId(UnsafeByteOperations.unsafeWrap(spanId))
        .setTraceFlags(sampled ? TraceFlags.getSampled().asByte() : TraceFlags.getDefault().asByte())
        .build();
  }

  /** The sampling decision for the next root context written with {@link #writeRoot}. */
  public boolean nextSampled() {
    return sampleRatio > 0 && random.nextDouble() < sampleRatio;
  }

  /** The serialized size of a root TraceContext written by {@link #writeRoot}. */
  public static int rootSize(boolean sampled) {
    return 2 + 16 + 2 + 8 + (sampled ? 2 : 0);
  }

  /**
   * Writes a new root context's TraceContext message body at {@code out[pos]} (the bytes protobuf
   * writes for it: trace id, span id, and the flags only when sampled, as proto3 omits zero) and
   * returns the position after it. For sources that write events in wire form.
   */
  public int writeRoot(byte[] out, int pos, boolean sampled) {
    out[pos++] = (byte) (TraceContext.TRACE_ID_FIELD_NUMBER << 3 | 2);
    out[pos++] = 16;
    pos = writeNonZero(out, pos, 16);
    out[pos++] = (byte) (TraceContext.SPAN_ID_FIELD_NUMBER << 3 | 2);
    out[pos++] = 8;
    pos = writeNonZero(out, pos, 8);
    if (sampled) {
      out[pos++] = (byte) (TraceContext.TRACE_FLAGS_FIELD_NUMBER << 3);
      out[pos++] = TraceFlags.getSampled().asByte();
    }
    return pos;
  }

  /**
   * As {@link #writeRoot}, with the given ids and the sampled flag set: for a source that records
   * a span for the event, whose ids the event then carries. Writes {@link #rootSize rootSize(true)}
   * bytes.
   */
  public static int writeSampled(byte[] out, int pos, byte[] traceId, byte[] spanId) {
    out[pos++] = (byte) (TraceContext.TRACE_ID_FIELD_NUMBER << 3 | 2);
    out[pos++] = 16;
    System.arraycopy(traceId, 0, out, pos, 16);
    pos += 16;
    out[pos++] = (byte) (TraceContext.SPAN_ID_FIELD_NUMBER << 3 | 2);
    out[pos++] = 8;
    System.arraycopy(spanId, 0, out, pos, 8);
    pos += 8;
    out[pos++] = (byte) (TraceContext.TRACE_FLAGS_FIELD_NUMBER << 3);
    out[pos++] = TraceFlags.getSampled().asByte();
    return pos;
  }

  /** Random bytes, not all zero (W3C: an all-zero id is invalid). */
  private int writeNonZero(byte[] out, int pos, int length) {
    long any;
    do {
      any = 0;
      for (int i = 0; i < length; i += 8) {
        long r = random.nextLong();
        any |= r;
        for (int j = 0; j < 8; j++) {
          out[pos + i + j] = (byte) (r >>> (8 * j));
        }
      }
    } while (any == 0);
    return pos + length;
  }

  /** The hex trace id, for logs. */
  public static String traceIdHex(TraceContext t) {
    return TraceId.fromBytes(t.getTraceId().toByteArray()) + "/" + SpanId.fromBytes(t.getSpanId().toByteArray());
  }

  private void fill(byte[] b) {
    for (int i = 0; i < b.length; i += 8) {
      long r = random.nextLong();
      for (int j = 0; j < 8 && i + j < b.length; j++) {
        b[i + j] = (byte) (r >>> (8 * j));
      }
    }
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
