package io.sluice.coordinator.checkpoint;

import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One triggered checkpoint that has not completed or aborted: who must ack it and what they
 * acked, and the metadata that their acks make.
 *
 * <p>Confined to the coordinator thread (see {@link CheckpointCoordinator}).
 */
final class PendingCheckpoint {
  /** One instance that must ack: the registration (session) it had at the trigger. */
  record Participant(String stage, int index, String instanceId, long session) {}

  final long id;
  final boolean savepoint;
  final long triggeredAtMillis;
  final long epoch;
  /** Savepoint requests that this checkpoint answers. */
  final List<CompletableFuture<CheckpointMetadata>> waiting = new ArrayList<>();
  ScheduledFuture<?> timeout;

  /** Stage → parallelism at the trigger, in spec order. */
  private final Map<String, Integer> parallelism;
  private final Map<String, Participant> participants = new LinkedHashMap<>();
  private final Map<String, CheckpointAck> acks = new HashMap<>();

  PendingCheckpoint(
      long id,
      boolean savepoint,
      long triggeredAtMillis,
      long epoch,
      Map<String, Integer> parallelism,
      List<Participant> participants) {
    this.id = id;
    this.savepoint = savepoint;
    this.triggeredAtMillis = triggeredAtMillis;
    this.epoch = epoch;
    this.parallelism = new LinkedHashMap<>(parallelism);
    for (Participant p : participants) {
      this.participants.put(p.instanceId(), p);
    }
  }

  /** Whether this registration of the instance must ack this checkpoint. */
  boolean participant(String instanceId, long session) {
    Participant p = participants.get(instanceId);
    return p != null && p.session() == session;
  }

  /**
   * Keeps an ack (the first one per instance; a repeat is ignored).
   *
   * @return whether every participant has now acked
   */
  boolean acknowledge(String instanceId, CheckpointAck ack) {
    acks.putIfAbsent(instanceId, ack);
    return acks.size() == participants.size();
  }

  /** The participants that have not acked yet, in spec order. */
  List<String> missing() {
    return participants.keySet().stream().filter(id -> !acks.containsKey(id)).toList();
  }

  int participantCount() {
    return participants.size();
  }

  /** The stored size of every acked state piece, bytes. */
  long sizeBytes() {
    long size = 0;
    for (CheckpointAck ack : acks.values()) {
      for (StateHandle handle : ack.getStateList()) {
        size += handle.getSizeBytes();
      }
    }
    return size;
  }

  /** The longest alignment any instance reported, milliseconds. */
  long maxAlignmentMillis() {
    return acks.values().stream().mapToLong(CheckpointAck::getAlignmentMillis).max().orElse(0);
  }

  /**
   * The metadata of the completed checkpoint: per stage (spec order) its parallelism, every
   * instance's handles in index order, and per producer the highest source position any of its
   * instances recorded.
   */
  CheckpointMetadata metadata(String pipeline, int maxParallelism, long completedAtMillis) {
    CheckpointMetadata.Builder meta = CheckpointMetadata.newBuilder()
        .setPipeline(pipeline)
        .setCheckpointId(id)
        .setTriggeredAtMillis(triggeredAtMillis)
        .setCompletedAtMillis(completedAtMillis)
        .setSavepoint(savepoint)
        .setMaxParallelism(maxParallelism)
        .setEpoch(epoch);
    for (Map.Entry<String, Integer> stage : parallelism.entrySet()) {
      StageCheckpoint.Builder s = StageCheckpoint.newBuilder()
          .setStage(stage.getKey())
          .setParallelism(stage.getValue());
      Map<String, Long> positions = new HashMap<>();
      participants.values().stream()
          .filter(p -> p.stage().equals(stage.getKey()))
          .sorted((a, b) -> Integer.compare(a.index(), b.index()))
          .forEach(p -> {
            CheckpointAck ack = acks.get(p.instanceId());
            s.addAllState(ack.getStateList());
            ack.getSourcePositionsMap()
                .forEach((producer, seq) -> positions.merge(producer, seq, Math::max));
          });
      s.putAllSourcePositions(positions);
      meta.addStages(s);
    }
    return meta.build();
  }
}
