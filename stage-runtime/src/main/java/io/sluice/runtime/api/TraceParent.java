package io.sluice.runtime.api;

import java.util.HexFormat;
import java.util.Objects;

/**
 * The W3C trace context a record carries across hops (the binary fields of a {@code traceparent}
 * header). Immutable and thread-safe.
 *
 * @param traceId 16 bytes, hex-encoded as 32 lower-case characters
 * @param spanId 8 bytes, hex-encoded as 16 lower-case characters
 * @param flags the W3C trace flags; bit 0 is "sampled"
 * @param traceState the {@code tracestate} header, verbatim; empty when absent
 */
public record TraceParent(String traceId, String spanId, int flags, String traceState) {
  private static final HexFormat HEX = HexFormat.of();

  public TraceParent {
    Objects.requireNonNull(traceId, "traceId");
    Objects.requireNonNull(spanId, "spanId");
    Objects.requireNonNull(traceState, "traceState");
    if (traceId.length() != 32 || !isHex(traceId)) {
      throw new IllegalArgumentException("traceId must be 32 lower-case hex characters: " + traceId);
    }
    if (spanId.length() != 16 || !isHex(spanId)) {
      throw new IllegalArgumentException("spanId must be 16 lower-case hex characters: " + spanId);
    }
  }

  /** True when the source decided to sample this trace; every stage honours it. */
  public boolean sampled() {
    return (flags & 0x01) != 0;
  }

  /** The {@code traceparent} header value, version 00. */
  public String toHeader() {
    return "00-" + traceId + "-" + spanId + "-" + String.format("%02x", flags & 0xff);
  }

  /**
   * Parses a {@code traceparent} header value.
   *
   * @throws IllegalArgumentException if the value is not a version-00 traceparent
   */
  public static TraceParent fromHeader(String header, String traceState) {
    String[] parts = header.trim().split("-");
    if (parts.length != 4 || !parts[0].equals("00")) {
      throw new IllegalArgumentException("not a version-00 traceparent: " + header);
    }
    return new TraceParent(parts[1], parts[2], Integer.parseInt(parts[3], 16), traceState);
  }

  /** The trace id as 16 bytes. */
  public byte[] traceIdBytes() {
    return HEX.parseHex(traceId);
  }

  /** The span id as 8 bytes. */
  public byte[] spanIdBytes() {
    return HEX.parseHex(spanId);
  }

  /** Builds one from the binary fields of the wire form. */
  public static TraceParent fromBytes(byte[] traceId, byte[] spanId, int flags, String traceState) {
    return new TraceParent(HEX.formatHex(traceId), HEX.formatHex(spanId), flags, traceState);
  }

  private static boolean isHex(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }
}
