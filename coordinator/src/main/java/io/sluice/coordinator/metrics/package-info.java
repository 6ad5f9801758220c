/**
 * The coordinator's own metrics — checkpoints, the global watermark, instances by state — kept
 * with the OpenTelemetry SDK and rendered as Prometheus text for the dashboard's {@code /metrics}.
 */
package io.sluice.coordinator.metrics;
