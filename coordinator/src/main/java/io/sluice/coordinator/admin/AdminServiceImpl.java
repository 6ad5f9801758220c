package io.sluice.coordinator.admin;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.checkpoint.CheckpointFailedException;
import io.sluice.coordinator.control.ControlServiceImpl;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.registry.InstanceSnapshot;
import io.sluice.proto.v1.AdminServiceGrpc;
import io.sluice.proto.v1.CheckpointInfo;
import io.sluice.proto.v1.DrainRequest;
import io.sluice.proto.v1.DrainResponse;
import io.sluice.proto.v1.GetStatusRequest;
import io.sluice.proto.v1.GetTopologyRequest;
import io.sluice.proto.v1.ListCheckpointsRequest;
import io.sluice.proto.v1.ListCheckpointsResponse;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.ScaleRequest;
import io.sluice.proto.v1.ScaleResponse;
import io.sluice.proto.v1.SetMaxRateRequest;
import io.sluice.proto.v1.SetMaxRateResponse;
import io.sluice.proto.v1.Topology;
import io.sluice.proto.v1.TriggerSavepointRequest;
import io.sluice.runtime.api.StageFactory;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;

/**
 * {@code AdminService}: status, topology, checkpoints, savepoints, scaling and draining of the
 * running pipeline.
 *
 * <p>Thread-safe: every call reads registry snapshots or goes through thread-safe collaborators.
 * {@code TriggerSavepoint} answers from the coordinator thread once the savepoint is stored.
 */
public final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {
  private static final System.Logger LOG = System.getLogger(AdminServiceImpl.class.getName());

  private final InstanceRegistry registry;
  private final StatusReporter reporter;
  private final ControlServiceImpl control;
  private final Optional<CheckpointCoordinator> checkpoints;

  /** The admin service of a pipeline without checkpoints. */
  public AdminServiceImpl(
      InstanceRegistry registry, StatusReporter reporter, ControlServiceImpl control) {
    this(registry, reporter, control, Optional.empty());
  }

  /** @param checkpoints lists checkpoints and takes savepoints; empty without checkpoints */
  public AdminServiceImpl(
      InstanceRegistry registry,
      StatusReporter reporter,
      ControlServiceImpl control,
      Optional<CheckpointCoordinator> checkpoints) {
    this.registry = registry;
    this.reporter = reporter;
    this.control = control;
    this.checkpoints = checkpoints;
  }

  @Override
  public void getStatus(GetStatusRequest request, StreamObserver<PipelineStatus> response) {
    response.onNext(reporter.status());
    response.onCompleted();
  }

  @Override
  public void getTopology(GetTopologyRequest request, StreamObserver<Topology> response) {
    response.onNext(reporter.topology());
    response.onCompleted();
  }

  /**
   * Every completed checkpoint the store keeps, and this run's savepoints, aborted checkpoints
   * and the one in flight, oldest first. FAILED_PRECONDITION without checkpoints.
   */
  @Override
  public void listCheckpoints(
      ListCheckpointsRequest request, StreamObserver<ListCheckpointsResponse> response) {
    if (checkpoints.isEmpty()) {
      response.onError(checkpointsNotConfigured());
      return;
    }
    ListCheckpointsResponse.Builder list = ListCheckpointsResponse.newBuilder();
    checkpoints.get().list().forEach(stats -> list.addCheckpoints(CheckpointInfos.of(stats)));
    response.onNext(list.build());
    response.onCompleted();
  }

  /**
   * Takes a savepoint and answers once it is stored, with state "completed". FAILED_PRECONDITION
   * without checkpoints or while the pipeline is not running; ABORTED when the savepoint was
   * aborted (try again); UNIMPLEMENTED for a target other than the checkpoint store.
   */
  @Override
  public void triggerSavepoint(
      TriggerSavepointRequest request, StreamObserver<CheckpointInfo> response) {
    if (checkpoints.isEmpty()) {
      response.onError(checkpointsNotConfigured());
      return;
    }
    CheckpointCoordinator coordinator = checkpoints.get();
    if (!request.getTarget().isEmpty()) {
      response.onError(Status.UNIMPLEMENTED
          .withDescription("savepoints are kept in the checkpoint store, as "
              + coordinator.storageDir().resolve("savepoint-<n>") + "; another target is not"
              + " supported yet: leave the target empty and copy the folder")
          .asRuntimeException());
      return;
    }
    coordinator.triggerSavepoint().whenComplete((meta, error) -> {
      if (error == null) {
        response.onNext(CheckpointInfos.of(coordinator.stats(meta)));
        response.onCompleted();
        return;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null
          ? error.getCause()
          : error;
      Status status;
      if (cause instanceof IllegalStateException) {
        status = Status.FAILED_PRECONDITION.withDescription(
            cause.getMessage() + "; take the savepoint once the pipeline is running");
      } else if (cause instanceof CheckpointFailedException) {
        status = Status.ABORTED.withDescription(cause.getMessage() + "; try again");
      } else {
        status = Status.INTERNAL.withDescription("the savepoint failed: " + cause).withCause(cause);
      }
      response.onError(status.asRuntimeException());
    });
  }

  /**
   * Sets a stateless stage's desired parallelism and re-routes: new replicas join as they
   * register; after a scale-in, replicas beyond the new parallelism leave the routes (their
   * inputs end, so they finish), and source replicas among them are told to drain.
   */
  @Override
  public void scale(ScaleRequest request, StreamObserver<ScaleResponse> response) {
    int previous;
    try {
      previous = registry.scale(request.getStage(), request.getParallelism());
    } catch (StatusRuntimeException e) {
      response.onError(e);
      return;
    }
    int now = request.getParallelism();
    if (previous != now) {
      LOG.log(System.Logger.Level.INFO,
          "stage '" + request.getStage() + "' scaled from " + previous + " to " + now);
      control.pushRouteChanges("stage '" + request.getStage() + "' scaled to " + now);
      boolean source = registry.spec().stage(request.getStage())
          .map(s -> s.role() == StageFactory.Role.SOURCE)
          .orElse(false);
      if (source) {
        for (InstanceSnapshot instance : registry.instances(request.getStage())) {
          if (instance.index() >= now && instance.live()) {
            control.drainInstance(
                instance.instanceId(), "stage '" + request.getStage() + "' scaled in to " + now);
          }
        }
      }
    }
    response.onNext(
        ScaleResponse.newBuilder().setPreviousParallelism(previous).setParallelism(now).build());
    response.onCompleted();
  }

  @Override
  public void drain(DrainRequest request, StreamObserver<DrainResponse> response) {
    String reason = request.getReason().isEmpty() ? "an operator asked to drain" : request.getReason();
    control.drainPipeline(reason);
    response.onNext(DrainResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void setMaxRate(SetMaxRateRequest request, StreamObserver<SetMaxRateResponse> response) {
    if (registry.instances().stream().noneMatch(i -> i.stage().equals(request.getStage()))
        && !reporter.topology().getStagesList().stream().anyMatch(t -> t.getName().equals(request.getStage()))) {
      response.onError(Status.NOT_FOUND
          .withDescription("no stage '" + request.getStage() + "' in this pipeline")
          .asRuntimeException());
      return;
    }
    if (request.getEventsPerSecond() < 0) {
      response.onError(Status.INVALID_ARGUMENT
          .withDescription("events_per_second must be >= 0 (0 removes the cap), got "
              + request.getEventsPerSecond())
          .asRuntimeException());
      return;
    }
    List<String> told = control.setMaxRate(request.getStage(), request.getEventsPerSecond());
    response.onNext(SetMaxRateResponse.newBuilder().addAllInstances(told).build());
    response.onCompleted();
  }

  private StatusRuntimeException checkpointsNotConfigured() {
    return Status.FAILED_PRECONDITION
        .withDescription("pipeline '" + registry.spec().name() + "' does not checkpoint: add a"
            + " 'checkpoints:' section (e.g. checkpoints: {interval: 10s}) to its spec and"
            + " restart it")
        .asRuntimeException();
  }
}
