package io.sluice.cli.grpc;

import com.google.common.net.HostAndPort;
import picocli.CommandLine;

/**
 * Parses {@code HOST:PORT} options ({@code localhost:7000}, {@code [::1]:7001}); a missing or bad
 * port is a usage error (exit code 2). Stateless.
 */
public final class HostPortConverter implements CommandLine.ITypeConverter<HostAndPort> {
  @Override
  public HostAndPort convert(String value) {
    try {
      HostAndPort hp = HostAndPort.fromString(value.trim());
      if (!hp.hasPort() || hp.getHost().isEmpty()) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not HOST:PORT (for example localhost:7000)");
      }
      return hp;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(
          "'" + value + "' is not HOST:PORT (for example localhost:7000): " + e.getMessage());
    }
  }
}
