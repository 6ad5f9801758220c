package io.sluice.runtime.api;

/**
 * Where an operator writes its state when a checkpoint reaches it ({@link
 * Operator#snapshotState}). The runtime stores what is written here with the checkpoint, split by
 * key group, and hands it back through {@link StateRestore} after a failure or from a savepoint.
 *
 * <p>Two kinds of state, as in Flink:
 *
 * <ul>
 *   <li><b>keyed</b> ({@link #putKeyed}): belongs to one key; it goes with the key's key group, so
 *       after a rescale the instance that now owns the key gets it;
 *   <li><b>operator-wide</b> ({@link #putOperator}): not tied to a key; on restore every instance
 *       gets every instance's entries (union), and decides what to keep.
 * </ul>
 *
 * <p>The bytes passed in are the operator's to encode; they are copied (or encoded) before the
 * call returns, so the operator may reuse buffers. Threading: only during {@code snapshotState},
 * on the operator's thread.
 *
 * @param <K> the operator's input key type; keys are encoded with the stage's input key serde, so
 *     a key's key group is the one routing sends it to
 */
public interface StateSnapshot<K> {
  /** The checkpoint being taken. */
  long checkpointId();

  /** True for a savepoint (a checkpoint a user asked for and keeps). */
  boolean savepoint();

  /** Adds one key's state; a key written twice keeps both entries, in order. */
  void putKeyed(K key, byte[] value);

  /** Adds one operator-wide entry. */
  void putOperator(byte[] value);
}
