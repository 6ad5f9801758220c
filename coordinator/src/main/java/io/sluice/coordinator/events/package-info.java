/**
 * The coordinator's record of recent errors — deaths, aborted and declined checkpoints, restores,
 * dead letters — fed from where the coordinator observes them, read by {@code GetStatus} and the
 * dashboard.
 */
package io.sluice.coordinator.events;
