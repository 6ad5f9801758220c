package io.sluice.runtime.internal.trace.otlp;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code partial_success} of an {@code ExportTraceServiceResponse}: how many spans of an
 * accepted request the collector dropped, and why. Decoded by hand so that the exporter does not
 * need the generated OTLP classes:
 *
 * <pre>
 * message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
 * message ExportTracePartialSuccess  { int64 rejected_spans = 1; string error_message = 2; }
 * </pre>
 *
 * <p>Threading: immutable, thread-safe.
 *
 * @param rejectedSpans spans the collector did not keep; 0 when it kept all of them
 * @param errorMessage the collector's explanation, or a warning when nothing was rejected; empty if
 *     none
 */
record OtlpPartialSuccess(long rejectedSpans, String errorMessage) {
  static final OtlpPartialSuccess NONE = new OtlpPartialSuccess(0, "");

  // Tags: field number << 3 | wire type.
  private static final int PARTIAL_SUCCESS = 1 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;
  private static final int REJECTED_SPANS = 1 << 3 | WireFormat.WIRETYPE_VARINT;
  private static final int ERROR_MESSAGE = 2 << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;

  /** Decodes an encoded {@code ExportTraceServiceResponse}; an empty array is a full success. */
  static OtlpPartialSuccess parse(byte[] response) throws InvalidProtocolBufferException {
    long rejected = 0;
    String message = "";
    try {
      CodedInputStream in = CodedInputStream.newInstance(response);
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        if (tag != PARTIAL_SUCCESS) {
          in.skipField(tag);
          continue;
        }
        // A message field may be split over several occurrences that merge: later scalars win.
        int limit = in.pushLimit(in.readRawVarint32());
        for (int inner = in.readTag(); inner != 0; inner = in.readTag()) {
          if (inner == REJECTED_SPANS) {
            rejected = in.readInt64();
          } else if (inner == ERROR_MESSAGE) {
            message = in.readStringRequireUtf8();
          } else {
            in.skipField(inner);
          }
        }
        in.popLimit(limit);
      }
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      // CodedInputStream over an array only throws the subclass above; keep the contract anyway.
      throw new InvalidProtocolBufferException(e);
    }
    return rejected == 0 && message.isEmpty() ? NONE : new OtlpPartialSuccess(rejected, message);
  }

  /**
   * Logs a WARNING when the collector dropped spans or sent a message; the export itself still
   * counts as a success (the spec: the client must not retry a partially successful request).
   */
  void logIfAny(Logger log, String destination) {
    if (rejectedSpans > 0) {
      log.log(Level.WARNING, "The " + destination + " accepted the export but rejected " + rejectedSpans
          + " spans: " + (errorMessage.isEmpty() ? "(no reason given)" : errorMessage));
    } else if (!errorMessage.isEmpty()) {
      log.log(Level.WARNING, "The " + destination + " accepted every span, with a warning: " + errorMessage);
    }
  }
}
