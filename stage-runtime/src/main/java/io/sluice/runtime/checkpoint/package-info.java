/**
 * Checkpoint storage shared by stage instances and the coordinator: the {@link
 * io.sluice.runtime.checkpoint.CheckpointStore} contract, the directory store, and the on-disk
 * framing of state and metadata files.
 */
package io.sluice.runtime.checkpoint;
