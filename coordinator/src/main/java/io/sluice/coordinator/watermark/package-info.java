/**
 * Event time across the pipeline: the global watermark from every instance's reports, and the
 * slowest source watermark that source alignment holds fast sources to.
 */
package io.sluice.coordinator.watermark;
