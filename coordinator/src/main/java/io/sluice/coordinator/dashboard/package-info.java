/**
 * The coordinator's web dashboard: a small HTTP server ({@link
 * io.sluice.coordinator.dashboard.DashboardServer}) with a JSON API under {@code /api/}, the
 * coordinator's Prometheus metrics at {@code /metrics}, and a static page (HTML, vanilla JS,
 * inline SVG; no build step) that polls the API every second. A sampler ({@link
 * io.sluice.coordinator.dashboard.StatusSampler}) keeps the last minutes of per-stage rates for
 * the plots.
 */
package io.sluice.coordinator.dashboard;
