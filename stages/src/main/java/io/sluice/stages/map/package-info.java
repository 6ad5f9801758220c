/** The {@code map} stage: reshapes JSON payloads, re-keys events and re-times them from a field. */
package io.sluice.stages.map;
