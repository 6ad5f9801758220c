package io.sluice.runtime.internal.trace.otlp;

/**
 * Why an export failed for good: the failure throwable of a failed {@link OtlpSender#send} result.
 * Its message names the destination, the reason, and the size of the dropped request.
 *
 * <p>Threading: immutable once thrown.
 */
public final class OtlpExportException extends Exception {
  OtlpExportException(String message, Throwable cause) {
    super(message, cause);
  }
}
