package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The settings of the OTLP trace exporter, read by {@link #from(ConfigProperties)} from the keys of
 * the OpenTelemetry OTLP exporter specification ({@code otel.exporter.otlp.*}, which autoconfigure
 * maps from the {@code OTEL_EXPORTER_OTLP_*} environment variables). For each setting the
 * traces-specific key ({@code otel.exporter.otlp.traces.timeout}) wins over the generic one
 * ({@code otel.exporter.otlp.timeout}).
 *
 * <p>The TLS settings apply to {@code https} endpoints only; for {@code http} they are ignored, as
 * the SDK's exporter does.
 *
 * <p>Threading: immutable, thread-safe.
 *
 * @param protocol the transport
 * @param endpoint where requests go: for {@link Protocol#HTTP_PROTOBUF} the full URL requests are
 *     posted to; for {@link Protocol#GRPC} only its scheme, host and port are used
 * @param headers sent with every request, names as configured, values percent-decoded
 * @param timeout the limit of one attempt (connection included); zero means no limit
 * @param compression of the request body
 * @param trustedCertificates a PEM file of the CA certificates to trust instead of the JVM's
 * @param clientIdentity the client certificate and key for mutual TLS
 * @param retryEnabled whether transient failures are retried
 */
public record OtlpSettings(
    Protocol protocol,
    URI endpoint,
    Map<String, String> headers,
    Duration timeout,
    Compression compression,
    Optional<Path> trustedCertificates,
    Optional<ClientIdentity> clientIdentity,
    boolean retryEnabled) {

  private static final String TRACES = "otel.exporter.otlp.traces.";
  private static final String GENERIC = "otel.exporter.otlp.";
  static final String RETRY_DISABLED_KEY = "otel.java.exporter.otlp.retry.disabled";
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  /** How spans travel to the collector ({@code otel.exporter.otlp.protocol}). */
  public enum Protocol {
    /** OTLP/gRPC: unary {@code TraceService/Export} calls. */
    GRPC("grpc", "http://localhost:4317"),
    /** OTLP/HTTP with binary protobuf bodies. */
    HTTP_PROTOBUF("http/protobuf", "http://localhost:4318/v1/traces");

    private final String value;
    private final String defaultEndpoint;

    Protocol(String value, String defaultEndpoint) {
      this.value = value;
      this.defaultEndpoint = defaultEndpoint;
    }

    /** The name in the configuration: {@code grpc} or {@code http/protobuf}. */
    public String value() {
      return value;
    }
  }

  /** The compression of request bodies ({@code otel.exporter.otlp.compression}). */
  public enum Compression {
    NONE("none"),
    GZIP("gzip");

    private final String value;

    Compression(String value) {
      this.value = value;
    }

    /** The name in the configuration: {@code none} or {@code gzip}. */
    public String value() {
      return value;
    }
  }

  /**
   * A client certificate chain and its private key, for mutual TLS.
   *
   * @param certificateChain a PEM file of the client certificate (then its issuers, if any)
   * @param privateKey a PEM file of the unencrypted PKCS#8 private key ({@code BEGIN PRIVATE KEY})
   */
  public record ClientIdentity(Path certificateChain, Path privateKey) {
    public ClientIdentity {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
    }
  }

  public OtlpSettings {
    Objects.requireNonNull(protocol, "protocol");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(compression, "compression");
    Objects.requireNonNull(trustedCertificates, "trustedCertificates");
    Objects.requireNonNull(clientIdentity, "clientIdentity");
    headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative: " + timeout);
    }
  }

  /**
   * The settings named by {@code config}, with the specification's defaults for the rest.
   *
   * @throws ConfigurationException naming the key and the value when a setting is invalid, or when a
   *     file it names does not exist
   */
  public static OtlpSettings from(ConfigProperties config) {
    Protocol protocol = protocol(config);
    return new OtlpSettings(
        protocol,
        endpoint(config, protocol),
        headers(config),
        timeout(config),
        compression(config),
        existingFile(config, "certificate"),
        clientIdentity(config),
        !config.getBoolean(RETRY_DISABLED_KEY, false));
  }

  /** Where the spans go, for messages: {@code OTLP/gRPC endpoint http://collector:4317}. */
  String describeEndpoint() {
    return (protocol == Protocol.GRPC ? "OTLP/gRPC" : "OTLP/HTTP") + " endpoint " + endpoint;
  }

  /** The endpoint's port, or the scheme's default port when the URL names none. */
  int port() {
    if (endpoint.getPort() != -1) {
      return endpoint.getPort();
    }
    return isTls() ? 443 : 80;
  }

  /** Whether the endpoint is {@code https}. */
  boolean isTls() {
    return endpoint.getScheme().equalsIgnoreCase("https");
  }

  private static Protocol protocol(ConfigProperties config) {
    Setting setting = Setting.of(config, "protocol");
    if (setting == null) {
      return Protocol.GRPC;
    }
    // The SDK configuration spec: enum values are case-insensitive.
    for (Protocol p : Protocol.values()) {
      if (p.value.equalsIgnoreCase(setting.value)) {
        return p;
      }
    }
    throw setting.invalid("is not a supported OTLP trace protocol; accepted: grpc, http/protobuf");
  }

  private static URI endpoint(ConfigProperties config, Protocol protocol) {
    Setting setting = Setting.of(config, "endpoint");
    if (setting == null) {
      return URI.create(protocol.defaultEndpoint);
    }
    URI base = parseUrl(setting);
    // A traces-specific endpoint is the full URL, used as is; so is any gRPC endpoint.
    if (setting.key.startsWith(TRACES) || protocol == Protocol.GRPC) {
      return base;
    }
    // The generic endpoint is the collector's base URL; each signal appends its own path to it.
    String path = base.getRawPath() == null || base.getRawPath().isEmpty() ? "/" : base.getRawPath();
    if (!path.endsWith("/")) {
      path += "/";
    }
    String query = base.getRawQuery() == null ? "" : "?" + base.getRawQuery();
    return URI.create(base.getScheme() + "://" + base.getRawAuthority() + path + "v1/traces" + query);
  }

  private static URI parseUrl(Setting setting) {
    URI uri;
    try {
      uri = new URI(setting.value);
    } catch (URISyntaxException e) {
      throw setting.invalid("is not a URL (" + e.getReason() + "); expected e.g. http://collector:4317");
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
      throw setting.invalid("must be an http:// or https:// URL, e.g. http://collector:4317");
    }
    if (uri.getHost() == null) {
      throw setting.invalid("names no host; expected e.g. http://collector:4317");
    }
    return uri;
  }

  private static Map<String, String> headers(ConfigProperties config) {
    String key = TRACES + "headers";
    Map<String, String> raw = config.getMap(key);
    if (raw.isEmpty()) {
      key = GENERIC + "headers";
      raw = config.getMap(key);
    }
    Map<String, String> decoded = new LinkedHashMap<>();
    for (Map.Entry<String, String> header : raw.entrySet()) {
      decoded.put(header.getKey(), percentDecode(key, header.getKey(), header.getValue()));
    }
    return decoded;
  }

  /**
   * Decodes {@code %XX} escapes as UTF-8, per RFC 3986 as the W3C Baggage format the spec prescribes
   * says. Unlike {@link java.net.URLDecoder} it keeps {@code +} as is: that is form encoding, and
   * would turn the {@code +} of a base64 token into a space.
   */
  static String percentDecode(String key, String header, String value) {
    if (value.indexOf('%') < 0) {
      return value;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(value.length());
    int i = 0;
    while (i < value.length()) {
      int escape = value.indexOf('%', i);
      if (escape < 0) {
        escape = value.length();
      }
      bytes.writeBytes(value.substring(i, escape).getBytes(StandardCharsets.UTF_8));
      if (escape == value.length()) {
        break;
      }
      int hi = escape + 2 < value.length() ? Character.digit(value.charAt(escape + 1), 16) : -1;
      int lo = hi >= 0 ? Character.digit(value.charAt(escape + 2), 16) : -1;
      if (lo < 0) {
        throw new ConfigurationException(key + ": the value of header '" + header + "' has a '%' at index " + escape
            + " that is not followed by two hex digits; write a literal '%' as %25");
      }
      bytes.write(hi * 16 + lo);
      i = escape + 3;
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      throw new ConfigurationException(
          key + ": the value of header '" + header + "' does not percent-decode to UTF-8 text", e);
    }
  }

  private static Duration timeout(ConfigProperties config) {
    Setting setting = Setting.of(config, "timeout");
    if (setting == null) {
      return DEFAULT_TIMEOUT;
    }
    // getDuration reads the units the SDK accepts (10s, 500ms; a bare number is milliseconds).
    Duration timeout = config.getDuration(setting.key);
    if (timeout.isNegative()) {
      throw setting.invalid("is negative; give a duration such as 10s, or 0 for no limit");
    }
    return timeout;
  }

  private static Compression compression(ConfigProperties config) {
    Setting setting = Setting.of(config, "compression");
    if (setting == null) {
      return Compression.NONE;
    }
    for (Compression c : Compression.values()) {
      if (c.value.equalsIgnoreCase(setting.value)) {
        return c;
      }
    }
    throw setting.invalid("is not a supported compression; accepted: gzip, none");
  }

  private static Optional<ClientIdentity> clientIdentity(ConfigProperties config) {
    Optional<Path> key = existingFile(config, "client.key");
    Optional<Path> certificate = existingFile(config, "client.certificate");
    if (key.isPresent() != certificate.isPresent()) {
      String given = key.isPresent() ? "client.key" : "client.certificate";
      String missing = key.isPresent() ? "client.certificate" : "client.key";
      throw new ConfigurationException("OTLP mutual TLS needs both " + GENERIC + "client.key and " + GENERIC
          + "client.certificate (or their traces-specific keys): " + given + " is set but " + missing + " is not");
    }
    return key.map(k -> new ClientIdentity(certificate.get(), k));
  }

  private static Optional<Path> existingFile(ConfigProperties config, String name) {
    Setting setting = Setting.of(config, name);
    if (setting == null) {
      return Optional.empty();
    }
    Path path = Path.of(setting.value);
    if (!Files.isRegularFile(path)) {
      throw setting.invalid(Files.exists(path) ? "is not a regular file" : "names a file that does not exist");
    }
    return Optional.of(path);
  }

  /** A setting found under its traces-specific key or, failing that, its generic key. */
  private record Setting(String key, String value) {
    /** The trimmed value of the first of the two keys that is set, or null when neither is. */
    static Setting of(ConfigProperties config, String name) {
      for (String key : new String[] {TRACES + name, GENERIC + name}) {
        String value = config.getString(key);
        if (value != null && !value.isBlank()) {
          return new Setting(key, value.trim());
        }
      }
      return null;
    }

    ConfigurationException invalid(String what) {
      return new ConfigurationException(key + "=" + value + " " + what);
    }
  }
}
