/** Who has gone silent: marks instances dead when their heartbeats stop. */
package io.sluice.coordinator.liveness;
