/** Event time across the pipeline: the global watermark from every instance's reports. */
package io.sluice.coordinator.watermark;
