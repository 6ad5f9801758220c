package io.sluice.coordinator.control;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.StageReport;
import java.util.Locale;

/**
 * One control stream as the coordinator reads it: the first report must register; later reports
 * update the registry; the end of the stream is the death of the instance unless it finished.
 *
 * <p>gRPC calls these callbacks one at a time, so the fields need no lock; other threads reach
 * the stream only through its {@link OutboundStream}.
 */
final class AttachSession implements StreamObserver<StageReport> {
  private final ControlServiceImpl service;
  private final StreamObserver<Command> responses;

  private OutboundStream out;
  private boolean over;

  AttachSession(ControlServiceImpl service, StreamObserver<Command> responses) {
    this.service = service;
    this.responses = responses;
  }

  @Override
  public void onNext(StageReport report) {
    if (over) {
      return;
    }
    if (out == null) {
      if (!report.hasRegister()) {
        over = true;
        responses.onError(Status.INVALID_ARGUMENT
            .withDescription("the first report on a control stream must be 'register', got '"
                + report.getKindCase().name().toLowerCase(Locale.ROOT)
                + "'; send Register{stage, endpoint, …} first")
            .asRuntimeException());
        return;
      }
      out = service.register(report.getRegister(), responses);
      over = out == null;
      return;
    }
    switch (report.getKindCase()) {
      case REGISTER -> {
        over = true;
        Status status = Status.INVALID_ARGUMENT.withDescription(
            "this control stream already registered " + out.instanceId() + "; open a new stream"
                + " to register another instance");
        out.close(status);
        service.streamClosed(out, "control stream closed: " + status.getDescription());
      }
      case HEARTBEAT -> service.registry().heartbeat(out.instanceId(), out.session());
      case METRICS -> service.registry().recordMetrics(
          out.instanceId(), out.session(), report.getMetrics());
      case WATERMARK -> service.watermarkReported(out, report.getWatermark());
      case STATE -> service.stateReported(out, report.getState());
      // Checkpoint and restore reports also prove the instance alive; those of a replaced
      // session (whose heartbeat the registry refuses) are dropped.
      case CHECKPOINT_ACK -> {
        if (heardFromCurrentSession()) {
          service.listener().checkpointAcknowledged(
              out.instanceId(), out.session(), report.getCheckpointAck());
        }
      }
      case CHECKPOINT_DECLINE -> {
        if (heardFromCurrentSession()) {
          service.listener().checkpointDeclined(
              out.instanceId(), out.session(), report.getCheckpointDecline());
        }
      }
      case RESTORED -> {
        if (heardFromCurrentSession()) {
          service.listener().restoreDone(out.instanceId(), out.session(), report.getRestored());
        }
      }
      // A report kind newer than this coordinator: ignore it, as proto3 intends.
      case KIND_NOT_SET -> { }
    }
  }

  /** Records the report as a heartbeat; false when this stream's session was replaced. */
  private boolean heardFromCurrentSession() {
    return service.registry().heartbeat(out.instanceId(), out.session());
  }

  @Override
  public void onError(Throwable t) {
    over = true;
    if (out != null) {
      out.markClosed();
      Status status = Status.fromThrowable(t);
      String description = status.getDescription() != null
          ? status.getDescription()
          : status.getCode().toString();
      service.streamClosed(out, "control stream closed: " + description);
    }
  }

  @Override
  public void onCompleted() {
    boolean wasOver = over;
    over = true;
    if (out != null) {
      out.close(Status.OK);
      if (!wasOver) {
        service.streamClosed(
            out, "control stream closed: the instance ended it without reporting FINISHED");
      }
    } else if (!wasOver) {
      responses.onCompleted();
    }
  }
}
