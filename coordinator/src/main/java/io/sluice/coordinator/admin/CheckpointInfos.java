package io.sluice.coordinator.admin;

import io.sluice.coordinator.checkpoint.CheckpointStats;
import io.sluice.proto.v1.CheckpointInfo;

/** {@link CheckpointStats} as {@code AdminService} shows them. Stateless. */
final class CheckpointInfos {
  private CheckpointInfos() {}

  static CheckpointInfo of(CheckpointStats stats) {
    return CheckpointInfo.newBuilder()
        .setCheckpointId(stats.checkpointId())
        .setState(stats.state().wireName())
        .setSavepoint(stats.savepoint())
        .setTriggeredAtMillis(stats.triggeredAtMillis())
        .setDurationMillis(stats.durationMillis())
        .setSizeBytes(stats.sizeBytes())
        .setLocation(stats.location())
        .setFailureReason(stats.failureReason())
        .setMaxAlignmentMillis(stats.maxAlignmentMillis())
        .build();
  }
}
