package io.sluice.coordinator.registry;

import io.sluice.proto.v1.Endpoint;
import io.sluice.proto.v1.InstanceMetrics;
import io.sluice.proto.v1.InstanceState;
import io.sluice.proto.v1.WatermarkReport;
import java.util.Objects;
import java.util.Optional;

/**
 * What the registry knows about one instance at one moment. Immutable.
 *
 * @param stage the stage's name
 * @param index the instance's index in its stage
 * @param instanceId {@code "<stage>-<index>"}
 * @param session identifies one registration (one control stream); a later registration of the
 *     same index gets a new session, so reports and closes from an old stream are ignored
 * @param endpoint where the instance's gRPC server listens
 * @param metricsEndpoint where its metrics endpoint listens (port 0 if none)
 * @param pid its process id, 0 if unknown
 * @param runtime its implementation ("java", "python"…)
 * @param state its state as the coordinator sees it
 * @param stateReason why it is in that state; "" when running
 * @param lastHeartbeatNanos the coordinator's ticker when it last heard from the instance
 * @param latestMetrics its latest metrics report, if any
 * @param previousMetrics the report before that, if any (rates need two)
 * @param latestMetricsNanos the coordinator's ticker when the latest metrics arrived
 * @param previousMetricsNanos the coordinator's ticker when the previous metrics arrived
 * @param watermark its latest watermark report, if any
 */
public record InstanceSnapshot(
    String stage,
    int index,
    String instanceId,
    long session,
    Endpoint endpoint,
    Endpoint metricsEndpoint,
    long pid,
    String runtime,
    InstanceState state,
    String stateReason,
    long lastHeartbeatNanos,
    Optional<InstanceMetrics> latestMetrics,
    Optional<InstanceMetrics> previousMetrics,
    long latestMetricsNanos,
    long previousMetricsNanos,
    Optional<WatermarkReport> watermark) {

  public InstanceSnapshot {
    Objects.requireNonNull(stage, "stage");
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(metricsEndpoint, "metricsEndpoint");
    Objects.requireNonNull(runtime, "runtime");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(stateReason, "stateReason");
    Objects.requireNonNull(latestMetrics, "latestMetrics");
    Objects.requireNonNull(previousMetrics, "previousMetrics");
    Objects.requireNonNull(watermark, "watermark");
  }

  /** The instance id of index {@code index} of {@code stage}. */
  public static String instanceId(String stage, int index) {
    return stage + "-" + index;
  }

  /** Neither dead nor finished: it holds its index and is checked for liveness. */
  public boolean live() {
    return isLive(state);
  }

  /** Whether an instance in this state holds its index. */
  public static boolean isLive(InstanceState state) {
    return state != InstanceState.INSTANCE_STATE_DEAD
        && state != InstanceState.INSTANCE_STATE_FINISHED;
  }
}
