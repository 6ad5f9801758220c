/** The life of the pipeline as a whole: starting, running, degraded, draining, finished. */
package io.sluice.coordinator.lifecycle;
