package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.sluice.runtime.internal.trace.otlp.OtlpSettings.Compression;
import io.sluice.runtime.internal.trace.otlp.OtlpSettings.Protocol;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the OTLP exporter settings are read from the otel.exporter.otlp.* keys, per the OTLP exporter spec. */
class OtlpSettingsTest {
  @TempDir Path dir;

  private static OtlpSettings read(String... keysAndValues) {
    Map<String, String> map = new HashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return OtlpSettings.from(DefaultConfigProperties.createFromMap(map));
  }

  @Test
  void defaultsAreGrpcToLocalhost4317() {
    OtlpSettings settings = read();
    assertThat(settings.protocol()).isEqualTo(Protocol.GRPC);
    assertThat(settings.endpoint()).isEqualTo(URI.create("http://localhost:4317"));
    assertThat(settings.headers()).isEmpty();
    assertThat(settings.timeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(settings.compression()).isEqualTo(Compression.NONE);
    assertThat(settings.trustedCertificates()).isEmpty();
    assertThat(settings.clientIdentity()).isEmpty();
    assertThat(settings.retryEnabled()).isTrue();
  }

  @Test
  void httpProtobufDefaultsToLocalhost4318V1Traces() {
    OtlpSettings settings = read("otel.exporter.otlp.protocol", "http/protobuf");
    assertThat(settings.protocol()).isEqualTo(Protocol.HTTP_PROTOBUF);
    assertThat(settings.endpoint()).isEqualTo(URI.create("http://localhost:4318/v1/traces"));
  }

  @Test
  void tracesProtocolWinsOverTheGenericOneAndCaseDoesNotMatter() {
    assertThat(read("otel.exporter.otlp.traces.protocol", "HTTP/Protobuf", "otel.exporter.otlp.protocol", "grpc")
        .protocol()).isEqualTo(Protocol.HTTP_PROTOBUF);
    assertThat(read("otel.exporter.otlp.traces.protocol", "grpc", "otel.exporter.otlp.protocol", "http/protobuf")
        .protocol()).isEqualTo(Protocol.GRPC);
  }

  @Test
  void unsupportedProtocolNamesKeyValueAndWhatIsAccepted() {
    assertThatThrownBy(() -> read("otel.exporter.otlp.protocol", "http/json"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.protocol=http/json")
        .hasMessageContaining("grpc, http/protobuf");
    assertThatThrownBy(() -> read("otel.exporter.otlp.traces.protocol", "udp", "otel.exporter.otlp.protocol", "grpc"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.traces.protocol=udp");
  }

  @Test
  void genericEndpointGetsV1TracesAppendedForHttp() {
    assertThat(httpEndpoint("http://h:4318")).isEqualTo("http://h:4318/v1/traces");
    assertThat(httpEndpoint("http://h:4318/")).isEqualTo("http://h:4318/v1/traces");
    assertThat(httpEndpoint("http://h:4318/base")).isEqualTo("http://h:4318/base/v1/traces");
    assertThat(httpEndpoint("https://h/base/")).isEqualTo("https://h/base/v1/traces");
  }

  private static String httpEndpoint(String generic) {
    return read("otel.exporter.otlp.protocol", "http/protobuf", "otel.exporter.otlp.endpoint", generic)
        .endpoint().toString();
  }

  @Test
  void tracesEndpointIsUsedAsIsAndWins() {
    OtlpSettings http = read("otel.exporter.otlp.protocol", "http/protobuf",
        "otel.exporter.otlp.traces.endpoint", "http://t:9999/custom",
        "otel.exporter.otlp.endpoint", "http://g:4318");
    assertThat(http.endpoint()).isEqualTo(URI.create("http://t:9999/custom"));
    OtlpSettings grpc = read("otel.exporter.otlp.traces.endpoint", "https://t:4317",
        "otel.exporter.otlp.endpoint", "http://g:4317");
    assertThat(grpc.endpoint()).isEqualTo(URI.create("https://t:4317"));
  }

  @Test
  void genericEndpointIsUsedAsIsForGrpc() {
    OtlpSettings settings = read("otel.exporter.otlp.endpoint", "https://collector:4317/");
    assertThat(settings.endpoint()).isEqualTo(URI.create("https://collector:4317/"));
    assertThat(settings.isTls()).isTrue();
    assertThat(settings.port()).isEqualTo(4317);
    assertThat(read("otel.exporter.otlp.endpoint", "https://collector").port()).isEqualTo(443);
    assertThat(read("otel.exporter.otlp.endpoint", "http://collector").port()).isEqualTo(80);
  }

  @Test
  void endpointMustBeAnHttpOrHttpsUrl() {
    assertThatThrownBy(() -> read("otel.exporter.otlp.endpoint", "collector:4317"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.endpoint=collector:4317")
        .hasMessageContaining("http:// or https://");
    assertThatThrownBy(() -> read("otel.exporter.otlp.traces.endpoint", "ftp://h:21/v1/traces"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.traces.endpoint=ftp://h:21/v1/traces");
    assertThatThrownBy(() -> read("otel.exporter.otlp.endpoint", "http://bad host:4317"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.endpoint=http://bad host:4317")
        .hasMessageContaining("is not a URL");
  }

  @Test
  void tracesHeadersReplaceTheGenericOnes() {
    assertThat(read("otel.exporter.otlp.traces.headers", "a=1", "otel.exporter.otlp.headers", "b=2").headers())
        .containsExactly(entry("a", "1"));
    assertThat(read("otel.exporter.otlp.headers", "X-Api-Key=k,b=2").headers())
        .containsExactly(entry("X-Api-Key", "k"), entry("b", "2"));
  }

  @Test
  void headerValuesArePercentDecodedButPlusStaysAPlus() {
    OtlpSettings settings = read("otel.exporter.otlp.headers",
        "Authorization=Basic%20dXNlcjpw+/c3M=,list=a%2Cb,accent=caf%C3%A9,plain=x");
    assertThat(settings.headers()).containsExactly(
        entry("Authorization", "Basic dXNlcjpw+/c3M="),
        entry("list", "a,b"),
        entry("accent", "café"),
        entry("plain", "x"));
  }

  @Test
  void badPercentEscapeNamesKeyAndHeader() {
    assertThatThrownBy(() -> read("otel.exporter.otlp.traces.headers", "token=100%zz"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.traces.headers")
        .hasMessageContaining("'token'")
        .hasMessageContaining("%25");
    assertThatThrownBy(() -> read("otel.exporter.otlp.headers", "token=%C3"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.headers")
        .hasMessageContaining("UTF-8");
  }

  @Test
  void timeoutTracesWinsUnitsAndZero() {
    assertThat(read("otel.exporter.otlp.traces.timeout", "500ms", "otel.exporter.otlp.timeout", "3s").timeout())
        .isEqualTo(Duration.ofMillis(500));
    assertThat(read("otel.exporter.otlp.timeout", "3s").timeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(read("otel.exporter.otlp.timeout", "2500").timeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(read("otel.exporter.otlp.timeout", "0").timeout()).isZero();
  }

  @Test
  void badTimeoutNamesTheKey() {
    assertThatThrownBy(() -> read("otel.exporter.otlp.traces.timeout", "-5s"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.traces.timeout=-5s")
        .hasMessageContaining("negative");
    assertThatThrownBy(() -> read("otel.exporter.otlp.timeout", "soon"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.timeout=soon");
  }

  @Test
  void compressionGzipOrNone() {
    assertThat(read("otel.exporter.otlp.compression", "gzip").compression()).isEqualTo(Compression.GZIP);
    assertThat(read("otel.exporter.otlp.traces.compression", "none", "otel.exporter.otlp.compression", "gzip")
        .compression()).isEqualTo(Compression.NONE);
    assertThat(read("otel.exporter.otlp.traces.compression", "GZIP").compression()).isEqualTo(Compression.GZIP);
    assertThatThrownBy(() -> read("otel.exporter.otlp.compression", "zstd"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.compression=zstd")
        .hasMessageContaining("gzip, none");
  }

  @Test
  void certificateFilesTracesWinAndMustExist() throws IOException {
    Path generic = Files.writeString(dir.resolve("generic.pem"), "x");
    Path traces = Files.writeString(dir.resolve("traces.pem"), "x");
    assertThat(read("otel.exporter.otlp.certificate", generic.toString()).trustedCertificates()).contains(generic);
    assertThat(read("otel.exporter.otlp.traces.certificate", traces.toString(),
        "otel.exporter.otlp.certificate", generic.toString()).trustedCertificates()).contains(traces);
    Path missing = dir.resolve("missing.pem");
    assertThatThrownBy(() -> read("otel.exporter.otlp.traces.certificate", missing.toString()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.traces.certificate=" + missing)
        .hasMessageContaining("does not exist");
    assertThatThrownBy(() -> read("otel.exporter.otlp.certificate", dir.toString()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.certificate=" + dir)
        .hasMessageContaining("not a regular file");
  }

  @Test
  void clientKeyAndCertificateComeTogether() throws IOException {
    Path key = Files.writeString(dir.resolve("client.key"), "x");
    Path cert = Files.writeString(dir.resolve("client.crt"), "x");
    OtlpSettings settings = read("otel.exporter.otlp.client.key", key.toString(),
        "otel.exporter.otlp.traces.client.certificate", cert.toString());
    assertThat(settings.clientIdentity()).contains(new OtlpSettings.ClientIdentity(cert, key));
    assertThatThrownBy(() -> read("otel.exporter.otlp.client.key", key.toString()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("client.key is set but client.certificate is not");
    assertThatThrownBy(() -> read("otel.exporter.otlp.traces.client.certificate", cert.toString()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("client.certificate is set but client.key is not");
    Path missing = dir.resolve("nope.key");
    assertThatThrownBy(() -> read("otel.exporter.otlp.client.key", missing.toString(),
        "otel.exporter.otlp.client.certificate", cert.toString()))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.exporter.otlp.client.key=" + missing);
  }

  @Test
  void retryIsOnUnlessDisabled() {
    assertThat(read("otel.java.exporter.otlp.retry.disabled", "true").retryEnabled()).isFalse();
    assertThat(read("otel.java.exporter.otlp.retry.disabled", "false").retryEnabled()).isTrue();
  }
}
