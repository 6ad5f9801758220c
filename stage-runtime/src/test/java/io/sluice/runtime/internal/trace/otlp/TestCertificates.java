package io.sluice.runtime.internal.trace.otlp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A self-signed certificate and its key made at test time with the JDK's {@code keytool} (always
 * there, unlike openssl), written as the PEM files the OTLP settings name: the certificate, valid
 * for {@code 127.0.0.1} and {@code localhost}, and an unencrypted PKCS#8 key.
 *
 * <p>Threading: immutable.
 *
 * @param certificate the PEM certificate, which also serves as its own CA
 * @param privateKey the PEM PKCS#8 key
 * @param keyStore the PKCS12 key store keytool made, password {@link #PASSWORD}
 */
record TestCertificates(Path certificate, Path privateKey, Path keyStore) {
  static final String PASSWORD = "changeit";

  /** A new identity named {@code name} in {@code dir}, with a key of {@code keyAlg} (RSA or EC). */
  static TestCertificates generate(Path dir, String name, String keyAlg) throws Exception {
    Path store = dir.resolve(name + ".p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Process process = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", name, "-keyalg", keyAlg,
        "-dname", "CN=" + name, "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
        "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD)
        .redirectErrorStream(true)
        .start();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IOException("keytool failed: " + new String(output, StandardCharsets.UTF_8));
    }
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      keyStore.load(in, PASSWORD.toCharArray());
    }
    Key key = keyStore.getKey(name, PASSWORD.toCharArray());
    Path certificate = dir.resolve(name + ".crt");
    Path privateKey = dir.resolve(name + ".key");
    Files.writeString(certificate, pem("CERTIFICATE", keyStore.getCertificate(name).getEncoded()));
    // Key.getEncoded of a private key is its PKCS#8 form.
    Files.writeString(privateKey, pem("PRIVATE KEY", key.getEncoded()));
    return new TestCertificates(certificate, privateKey, store);
  }

  /**
   * An SSLContext for a test server: this identity as its key, trusting {@code clients} (when any
   * are given) to authenticate clients.
   */
  SSLContext serverContext(List<TestCertificates> clients) throws GeneralSecurityException, IOException {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keyStore)) {
      keys.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, PASSWORD.toCharArray());
    TrustManagerFactory trustManagers = null;
    if (!clients.isEmpty()) {
      KeyStore trusted = KeyStore.getInstance("PKCS12");
      trusted.load(null, null);
      for (int i = 0; i < clients.size(); i++) {
        try (InputStream in = Files.newInputStream(clients.get(i).certificate())) {
          trusted.setCertificateEntry("client-" + i,
              CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
      }
      trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trustManagers.init(trusted);
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), trustManagers == null ? null : trustManagers.getTrustManagers(), null);
    return context;
  }

  private static String pem(String type, byte[] der) {
    String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + base64 + "\n-----END " + type + "-----\n";
  }
}
