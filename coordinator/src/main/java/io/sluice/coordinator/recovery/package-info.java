/**
 * Recovery: restore epochs, the choice of the checkpoint to restore, the {@code Restore} of each
 * instance, holding routes until every instance restored, coordinator restarts and starts from a
 * savepoint. The protocol is docs/checkpoints.md ("Recovery").
 */
package io.sluice.coordinator.recovery;
