package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Map;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the PEM files of the TLS settings, and the errors for files in the wrong format. */
class OtlpTlsTest {
  @TempDir static Path dir;
  private static TestCertificates rsa;
  private static TestCertificates ec;

  @BeforeAll
  static void makeCertificates() throws Exception {
    rsa = TestCertificates.generate(dir, "rsa", "RSA");
    ec = TestCertificates.generate(dir, "ec", "EC");
  }

  private static OtlpSettings settings(Map<String, String> map) {
    return OtlpSettings.from(DefaultConfigProperties.createFromMap(map));
  }

  @Test
  void trustsTheCertificatesOfTheFile() {
    TrustManager[] managers = OtlpTls.trustManagers(settings(Map.of(
        "otel.exporter.otlp.endpoint", "https://127.0.0.1:4317",
        "otel.exporter.otlp.certificate", rsa.certificate().toString())));
    X509Certificate[] issuers = ((X509TrustManager) managers[0]).getAcceptedIssuers();
    assertThat(issuers).hasSize(1);
    assertThat(issuers[0].getSubjectX500Principal().getName()).isEqualTo("CN=rsa");
  }

  @Test
  void noFilesMeansTheJvmDefaults() {
    OtlpSettings settings = settings(Map.of("otel.exporter.otlp.endpoint", "https://127.0.0.1:4317"));
    assertThat(OtlpTls.trustManagers(settings)).isNull();
    assertThat(OtlpTls.keyManagers(settings)).isNull();
  }

  @Test
  void readsRsaAndEcPkcs8ClientKeys() {
    for (TestCertificates identity : new TestCertificates[] {rsa, ec}) {
      KeyManager[] managers = OtlpTls.keyManagers(settings(Map.of(
          "otel.exporter.otlp.client.key", identity.privateKey().toString(),
          "otel.exporter.otlp.client.certificate", identity.certificate().toString())));
      X509KeyManager manager = (X509KeyManager) managers[0];
      assertThat(manager.getPrivateKey("client")).isNotNull();
      assertThat(manager.getCertificateChain("client")).hasSize(1);
    }
  }

  @Test
  void pkcs1KeyIsRefusedWithTheFileAndTheFix() throws Exception {
    Path pkcs1 = Files.writeString(dir.resolve("pkcs1.key"),
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n");
    assertThatThrownBy(() -> OtlpTls.keyManagers(settings(Map.of(
        "otel.exporter.otlp.client.key", pkcs1.toString(),
        "otel.exporter.otlp.client.certificate", rsa.certificate().toString()))))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(pkcs1.toString())
        .hasMessageContaining("RSA PRIVATE KEY")
        .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
  }

  @Test
  void keyFileWithoutAKeyIsRefused() {
    assertThatThrownBy(() -> OtlpTls.keyManagers(settings(Map.of(
        "otel.exporter.otlp.client.key", rsa.certificate().toString(),
        "otel.exporter.otlp.client.certificate", rsa.certificate().toString()))))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(rsa.certificate() + " holds no PEM private key");
  }

  @Test
  void certificateFileThatIsNotPemIsRefused() throws Exception {
    Path garbage = Files.writeString(dir.resolve("garbage.crt"), "not a certificate\n");
    assertThatThrownBy(() -> OtlpTls.trustManagers(settings(Map.of(
        "otel.exporter.otlp.certificate", garbage.toString()))))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining(garbage.toString());
  }
}
