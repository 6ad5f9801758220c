/**
 * Who is running: the registered instances of every stage, their state, liveness timestamps and
 * latest reports, and the desired parallelism of every stage.
 */
package io.sluice.coordinator.registry;
