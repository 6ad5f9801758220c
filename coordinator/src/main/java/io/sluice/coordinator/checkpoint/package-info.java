/**
 * Checkpoints: the periodic trigger, the collection of every instance's ack, the metadata that
 * completes a checkpoint, aborts, savepoints, and what is known of each checkpoint for status.
 * The protocol is docs/checkpoints.md.
 */
package io.sluice.coordinator.checkpoint;
