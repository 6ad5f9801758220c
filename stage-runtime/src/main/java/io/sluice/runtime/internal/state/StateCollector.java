package io.sluice.runtime.internal.state;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.KeyedEntry;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.TimerEntry;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.partition.KeyGroups;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Collects one operator's snapshot at a barrier, split by key group: what the operator writes
 * through {@link StateSnapshot}, the timers the runtime keeps for it, and a source's positions.
 * Keys are encoded with the stage's input key serde, so a key lands in the key group routing
 * sends it to. Values are copied, so the operator may go on changing its own objects at once: the
 * collected snapshot is what the asynchronous write stores.
 *
 * <p>Threading: filled on the operator's thread; read afterwards by whoever writes it.
 *
 * @param <K> the operator's input key type
 */
public final class StateCollector<K> implements StateSnapshot<K> {
  private final long checkpointId;
  private final boolean savepoint;
  private final Serde<K> keySerde;
  private final int maxParallelism;
  private final TreeMap<Integer, KeyGroupState.Builder> groups = new TreeMap<>();
  private final OperatorState.Builder operator = OperatorState.newBuilder();
  private long bytes;

  public StateCollector(long checkpointId, boolean savepoint, Serde<K> keySerde, int maxParallelism) {
    this.checkpointId = checkpointId;
    this.savepoint = savepoint;
    this.keySerde = keySerde;
    this.maxParallelism = maxParallelism;
  }

  @Override
  public long checkpointId() {
    return checkpointId;
  }

  @Override
  public boolean savepoint() {
    return savepoint;
  }

  @Override
  public void putKeyed(K key, byte[] value) {
    byte[] k = keySerde.serialize(key);
    group(k).addEntries(KeyedEntry.newBuilder().setKey(ByteString.copyFrom(k)).setValue(ByteString.copyFrom(value)));
    bytes += k.length + value.length;
  }

  @Override
  public void putOperator(byte[] value) {
    operator.addEntries(ByteString.copyFrom(value));
    bytes += value.length;
  }

  /** Adds a timer the runtime keeps for the operator. */
  public void putTimer(K key, long timestamp, TimeDomain domain) {
    byte[] k = keySerde.serialize(key);
    group(k).addTimers(TimerEntry.newBuilder()
        .setKey(ByteString.copyFrom(k))
        .setTimestamp(timestamp)
        .setProcessingTime(domain == TimeDomain.PROCESSING_TIME));
    bytes += k.length + 8;
  }

  /** A source's positions: per producer, the last sequence taken. */
  public void sourcePositions(Map<String, Long> positions) {
    operator.putAllSourcePositions(positions);
  }

  private KeyGroupState.Builder group(byte[] key) {
    int kg = KeyGroups.keyGroup(key, maxParallelism);
    return groups.computeIfAbsent(kg, g -> KeyGroupState.newBuilder().setKeyGroup(g));
  }

  /** The non-empty key groups, ascending. */
  public List<KeyGroupState> keyGroups() {
    List<KeyGroupState> out = new ArrayList<>(groups.size());
    for (KeyGroupState.Builder b : groups.values()) {
      out.add(b.build());
    }
    return out;
  }

  public OperatorState operatorState() {
    return operator.build();
  }

  /** Roughly the bytes collected (keys and values), for logs. */
  public long approximateBytes() {
    return bytes;
  }
}
