package io.sluice.runtime.internal.state;

import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.KeyedEntry;
import io.sluice.proto.v1.TimerEntry;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.StateRestore;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile;
import io.sluice.runtime.partition.KeyGroups;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The state one instance restores: from the state files of its stage's old instances, the keyed
 * entries and timers of the key groups it owns now (so a rescale hands each key group to its new
 * owner), and every old instance's operator-wide entries.
 *
 * <p>Threading: confined to the thread that restores the operator.
 *
 * @param <K> the operator's input key type
 */
public final class RestoredState<K> implements StateRestore<K> {
  /** Receives a restored timer. */
  @FunctionalInterface
  public interface TimerSink<K> {
    void timer(K key, long timestamp, TimeDomain domain);
  }

  private final long checkpointId;
  private final List<InstanceStateFile> files;
  private final KeyGroupRange owned;
  private final Serde<K> keySerde;

  public RestoredState(long checkpointId, List<InstanceStateFile> files, KeyGroupRange owned, Serde<K> keySerde) {
    this.checkpointId = checkpointId;
    this.files = List.copyOf(files);
    this.owned = owned;
    this.keySerde = keySerde;
  }

  /** Checks that every file was written with {@code maxParallelism} key groups. */
  public void checkMaxParallelism(int maxParallelism) {
    for (InstanceStateFile f : files) {
      if (f.header().getMaxParallelism() != maxParallelism) {
        throw new IllegalStateException("state of " + f.header().getInstanceId() + " in checkpoint "
            + checkpointId + " was written with maxParallelism " + f.header().getMaxParallelism()
            + ", but the pipeline now has " + maxParallelism + ": keyed state cannot be re-split;"
            + " keep maxParallelism as it was");
      }
    }
  }

  @Override
  public long checkpointId() {
    return checkpointId;
  }

  @Override
  public int previousParallelism() {
    return files.isEmpty() ? 0 : files.get(0).header().getParallelism();
  }

  @Override
  public void forEachKeyed(BiConsumer<? super K, byte[]> action) {
    for (KeyGroupState g : ownedGroups()) {
      for (KeyedEntry e : g.getEntriesList()) {
        action.accept(keySerde.deserialize(e.getKey().toByteArray()), e.getValue().toByteArray());
      }
    }
  }

  /** Calls {@code sink} for every timer of the key groups this instance owns. */
  public void forEachTimer(TimerSink<K> sink) {
    for (KeyGroupState g : ownedGroups()) {
      for (TimerEntry t : g.getTimersList()) {
        sink.timer(keySerde.deserialize(t.getKey().toByteArray()), t.getTimestamp(),
            t.getProcessingTime() ? TimeDomain.PROCESSING_TIME : TimeDomain.EVENT_TIME);
      }
    }
  }

  @Override
  public List<OperatorEntry> operatorEntries() {
    List<OperatorEntry> out = new ArrayList<>();
    for (InstanceStateFile f : files) {
      int index = f.header().getInstanceIndex();
      for (com.google.protobuf.ByteString b : f.operatorState().getEntriesList()) {
        out.add(new OperatorEntry(index, b.toByteArray()));
      }
    }
    return Collections.unmodifiableList(out);
  }

  /** Per producer, the highest position any old source instance recorded. */
  public Map<String, Long> sourcePositions() {
    Map<String, Long> out = new HashMap<>();
    for (InstanceStateFile f : files) {
      f.operatorState().getSourcePositionsMap().forEach((p, seq) -> out.merge(p, seq, Math::max));
    }
    return out;
  }

  private List<KeyGroupState> ownedGroups() {
    List<KeyGroupState> out = new ArrayList<>();
    for (InstanceStateFile f : files) {
      for (KeyGroupState g : f.keyGroups()) {
        if (KeyGroups.contains(owned, g.getKeyGroup())) {
          out.add(g);
        }
      }
    }
    return out;
  }
}
