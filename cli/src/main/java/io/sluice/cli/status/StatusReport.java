package io.sluice.cli.status;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.GetTopologyRequest;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.Topology;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What {@code sluice status} shows: the coordinator's {@code PipelineStatus} and, when it serves
 * one, its {@code Topology}. Immutable.
 *
 * @param status the pipeline's status
 * @param topology the pipeline's graph; empty when the coordinator does not serve GetTopology
 */
public record StatusReport(PipelineStatus status, Optional<Topology> topology) {
  public StatusReport {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(topology, "topology");
  }

  /**
   * Asks the coordinator for both, each call with a deadline of {@code timeoutMillis}.
   *
   * @throws StatusRuntimeException when GetStatus fails
   */
  public static StatusReport fetch(Channel channel, long timeoutMillis) {
    AdminServiceGrpc.AdminServiceBlockingStub admin = AdminServiceGrpc.newBlockingStub(channel);
    PipelineStatus status =
        admin
            .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
            .getStatus(GetStatusRequest.getDefaultInstance());
    Optional<Topology> topology;
    try {
      topology =
          Optional.of(
              admin
                  .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS)
                  .getTopology(GetTopologyRequest.getDefaultInstance()));
    } catch (StatusRuntimeException e) {
      // The status alone is still worth showing; the edges are a nicety.
      if (e.getStatus().getCode() != Status.Code.UNIMPLEMENTED) {
        throw e;
      }
      topology = Optional.empty();
    }
    return new StatusReport(status, topology);
  }
}
