package io.sluice.cli.grpc;

import com.google.common.net.HostAndPort;
import io.grpc.Status;

/**
 * Turns a failed call's {@link Status} into one line that says what went wrong and what to do.
 * Stateless.
 */
public final class StatusMessages {
  private StatusMessages() {}

  /**
   * "{@code CODE: description}" followed by a hint for the codes a user can act on.
   *
   * @param what the service being called, e.g. "the ingest at localhost:7001"
   */
  public static String describe(Status status, String what) {
    StringBuilder sb = new StringBuilder();
    sb.append(status.getCode());
    String description = status.getDescription();
    if (description != null && !description.isEmpty()) {
      sb.append(": ").append(description);
    } else if (status.getCause() != null && status.getCause().getMessage() != null) {
      sb.append(": ").append(status.getCause().getMessage());
    }
    String hint = hint(status.getCode(), what);
    if (!hint.isEmpty()) {
      sb.append(" (").append(hint).append(')');
    }
    return sb.toString();
  }

  /** The same, for a target given as host and port. */
  public static String describe(Status status, String service, HostAndPort target) {
    return describe(status, service + " at " + target);
  }

  private static String hint(Status.Code code, String what) {
    switch (code) {
      case UNAVAILABLE:
        return "is "
            + what
            + " running and reachable? Start it (sluice up PIPELINE.yaml) or check the address;"
            + " the call may be retried";
      case DEADLINE_EXCEEDED:
        return what + " did not answer in time; check that it is not overloaded and retry";
      case UNIMPLEMENTED:
        return what
            + " does not serve this call: check that the address is the right kind of"
            + " stage (an ingest for send, an egress for tail, the coordinator for status)";
      case RESOURCE_EXHAUSTED:
        return "a message was too large for " + what + "; send smaller batches (--batch)";
      case INVALID_ARGUMENT:
        return "fix the input named above; events acked before it are safe";
      case FAILED_PRECONDITION:
        return "fix the state described above first, then retry";
      default:
        return "";
    }
  }
}
