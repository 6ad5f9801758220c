/**
 * The Sluice coordinator: {@link io.sluice.coordinator.Coordinator} wires the parts and {@link
 * io.sluice.coordinator.CoordinatorServer} serves them, each part in its own package — {@code
 * spec} (the pipeline spec and its validation), {@code registry} (who is running), {@code
 * routing} (where events go), {@code liveness} (who went silent), {@code lifecycle} (the
 * pipeline's state), {@code watermark} (global event time), {@code control} (the control
 * streams), {@code checkpoint} (taking checkpoints and savepoints), {@code recovery} (epochs and
 * restores) and {@code admin} (what operators see and do).
 */
package io.sluice.coordinator;
