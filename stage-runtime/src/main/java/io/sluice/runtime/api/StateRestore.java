package io.sluice.runtime.api;

import java.util.List;
import java.util.function.BiConsumer;

/**
 * The state an operator wrote at a checkpoint ({@link StateSnapshot}), handed back before it
 * processes anything after a restore ({@link Operator#restoreState}).
 *
 * <p>Keyed entries are those of the key groups this instance owns now, whichever instance wrote
 * them: after a rescale they come from several of the old instances. Operator-wide entries come
 * from every old instance. Threading: only during {@code restoreState}, on the operator's thread.
 *
 * @param <K> the operator's input key type
 */
public interface StateRestore<K> {
  /** One operator-wide entry and the old instance that wrote it. */
  record OperatorEntry(int instanceIndex, byte[] value) {}

  /** The checkpoint restored from. */
  long checkpointId();

  /** The stage's parallelism when the checkpoint was taken. */
  int previousParallelism();

  /** Calls {@code action} for every keyed entry of the key groups this instance owns. */
  void forEachKeyed(BiConsumer<? super K, byte[]> action);

  /** Every old instance's operator-wide entries, by instance index, in the order written. */
  List<OperatorEntry> operatorEntries();
}
