package io.sluice.coordinator.spec;

import io.sluice.proto.v1.Partitioning;
import java.util.List;
import java.util.Optional;

/**
 * The spelling of {@link Partitioning} in a pipeline spec ({@code partition: hash}). Stateless
 * and thread-safe.
 */
public final class PartitioningNames {
  /** The values {@code partition:} accepts, in the order the docs list them. */
  public static final List<String> NAMES = List.of("hash", "round_robin", "broadcast", "forward");

  private PartitioningNames() {}

  /** The partitioning a spec value names, if it names one. */
  public static Optional<Partitioning> parse(String name) {
    return switch (name) {
      case "hash" -> Optional.of(Partitioning.PARTITIONING_HASH);
      case "round_robin" -> Optional.of(Partitioning.PARTITIONING_ROUND_ROBIN);
      case "broadcast" -> Optional.of(Partitioning.PARTITIONING_BROADCAST);
      case "forward" -> Optional.of(Partitioning.PARTITIONING_FORWARD);
      default -> Optional.empty();
    };
  }

  /** The spec spelling of a partitioning, e.g. "round_robin". */
  public static String name(Partitioning partitioning) {
    return switch (partitioning) {
      case PARTITIONING_HASH -> "hash";
      case PARTITIONING_ROUND_ROBIN -> "round_robin";
      case PARTITIONING_BROADCAST -> "broadcast";
      case PARTITIONING_FORWARD -> "forward";
      default -> "unspecified";
    };
  }
}
