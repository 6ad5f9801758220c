/**
 * The life of the pipeline as a whole: starting, running, degraded, restoring, draining, finished.
 */
package io.sluice.coordinator.lifecycle;
