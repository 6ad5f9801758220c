package io.sluice.coordinator.dashboard;

import io.sluice.coordinator.spec.PipelineSpec;
import java.util.Map;

/**
 * Which port the dashboard listens on: {@code SLUICE_DASHBOARD_PORT} when set (so a deployment
 * can fix it without editing the spec), else the spec's {@code coordinator: {dashboardPort:}}
 * (default 0, any free port). Stateless.
 */
public final class DashboardPort {
  /** The environment variable that overrides the spec. */
  public static final String ENV = "SLUICE_DASHBOARD_PORT";

  private DashboardPort() {}

  /**
   * @param env the process environment ({@code System.getenv()})
   * @throws IllegalArgumentException when the variable is set but not a port from 0 to 65535
   */
  public static int resolve(PipelineSpec spec, Map<String, String> env) {
    String value = env.get(ENV);
    if (value == null || value.isBlank()) {
      return spec.dashboardPort();
    }
    try {
      int port = Integer.parseInt(value.trim());
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below, with the value
    }
    throw new IllegalArgumentException(ENV + " must be a port from 0 to 65535 (0: any free one),"
        + " got: '" + value + "'; fix or unset it (the spec's coordinator.dashboardPort applies"
        + " when it is unset)");
  }
}
