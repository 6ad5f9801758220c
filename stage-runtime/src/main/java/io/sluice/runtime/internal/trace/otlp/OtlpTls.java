package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS material of {@link OtlpSettings}, read from its PEM files into JSSE trust and key
 * managers, which both transports take. Reading them when the sender is created (rather than at the
 * first export) makes a bad file fail the configuration, with the file named, instead of every
 * export.
 *
 * <p>Threading: stateless, thread-safe.
 */
final class OtlpTls {
  private static final Pattern PEM_BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");
  // The key store lives in memory only, so its password protects nothing; PKCS12 wants one all the same.
  private static final char[] IN_MEMORY = "in-memory".toCharArray();

  private OtlpTls() {}

  /** The trust managers of {@code settings}, or null for the JVM's default trust. */
  static TrustManager[] trustManagers(OtlpSettings settings) {
    if (settings.trustedCertificates().isEmpty()) {
      return null;
    }
    Path file = settings.trustedCertificates().get();
    List<Certificate> certificates = certificates(file);
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < certificates.size(); i++) {
        store.setCertificateEntry("ca-" + i, certificates.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      return factory.getTrustManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new ConfigurationException("Cannot trust the certificates of " + file + ": " + e.getMessage(), e);
    }
  }

  /** The key managers of the client identity of {@code settings}, or null when it has none. */
  static KeyManager[] keyManagers(OtlpSettings settings) {
    if (settings.clientIdentity().isEmpty()) {
      return null;
    }
    OtlpSettings.ClientIdentity identity = settings.clientIdentity().get();
    List<Certificate> chain = certificates(identity.certificateChain());
    PrivateKey key = privateKey(identity.privateKey());
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      store.setKeyEntry("client", key, IN_MEMORY, chain.toArray(new Certificate[0]));
      KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, IN_MEMORY);
      return factory.getKeyManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new ConfigurationException("Cannot use the client key " + identity.privateKey() + " with the certificate "
          + identity.certificateChain() + ": " + e.getMessage(), e);
    }
  }

  /** An SSLContext with the trust and key managers of {@code settings} (the JVM's where none given). */
  static SSLContext sslContext(OtlpSettings settings) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keyManagers(settings), trustManagers(settings), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new ConfigurationException("Cannot set up TLS for the " + settings.describeEndpoint() + ": " + e, e);
    }
  }

  private static List<Certificate> certificates(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      Collection<? extends Certificate> read = CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (read.isEmpty()) {
        throw new ConfigurationException(file + " holds no certificate; expected PEM (-----BEGIN CERTIFICATE-----)");
      }
      return new ArrayList<>(read);
    } catch (CertificateException e) {
      throw new ConfigurationException(
          file + " is not a PEM X.509 certificate file (-----BEGIN CERTIFICATE-----): " + e.getMessage(), e);
    } catch (IOException e) {
      throw new ConfigurationException("Cannot read the certificate file " + file + ": " + e, e);
    }
  }

  private static PrivateKey privateKey(Path file) {
    String pem;
    try {
      pem = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new ConfigurationException("Cannot read the private key file " + file + ": " + e, e);
    }
    Matcher block = PEM_BLOCK.matcher(pem);
    while (block.find()) {
      String type = block.group(1);
      if (type.equals("PRIVATE KEY")) {
        return pkcs8(file, Base64.getMimeDecoder().decode(block.group(2)));
      }
      if (type.endsWith("PRIVATE KEY")) {
        // PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or encrypted PKCS#8: not read here.
        throw new ConfigurationException(file + " holds a '" + type + "'; the OTLP client key must be an unencrypted"
            + " PKCS#8 key (-----BEGIN PRIVATE KEY-----): convert it with"
            + " openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key.pem");
      }
    }
    throw new ConfigurationException(file + " holds no PEM private key; the OTLP client key must be an unencrypted"
        + " PKCS#8 key (-----BEGIN PRIVATE KEY-----)");
  }

  private static PrivateKey pkcs8(Path file, byte[] der) {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : new String[] {"RSA", "EC"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (InvalidKeySpecException e) {
        // Not of this algorithm: try the next.
      } catch (GeneralSecurityException e) {
        throw new ConfigurationException("Cannot read the private key " + file + ": " + e, e);
      }
    }
    throw new ConfigurationException(file + " holds a PKCS#8 private key that is neither RSA nor EC");
  }
}
