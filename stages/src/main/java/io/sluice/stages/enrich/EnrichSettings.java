package io.sluice.stages.enrich;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The settings of an {@code enrich} stage, checked. Immutable.
 *
 * @param endpoint the service to call
 * @param concurrency calls in flight per instance, at most
 * @param ordered whether results are emitted in input order
 * @param batch events per call, at most; with more than 1, requests and answers are arrays
 * @param maxAge how long after an event reached the stage it may still be tried
 * @param retry the backoff between attempts
 * @param into the payload field that takes the answer
 */
record EnrichSettings(
    Endpoint endpoint,
    int concurrency,
    boolean ordered,
    int batch,
    Duration maxAge,
    RetryPolicy retry,
    String into) {

  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
  static final int DEFAULT_CONCURRENCY = 16;
  static final Duration DEFAULT_MAX_AGE = Duration.ofSeconds(30);
  static final String DEFAULT_INTO = "enrichment";
  // Above these a setting is a typo rather than a plan: every call slot and every held event costs
  // memory, and an answer for 100k events would exceed any sane message size.
  private static final int MAX_CONCURRENCY = 10_000;
  private static final int MAX_BATCH = 10_000;

  /** The service an enrich stage calls. */
  sealed interface Endpoint {
    /** How long one attempt may wait for its answer. */
    Duration timeout();

    /** Where, for messages: the URL or "FunctionService at TARGET". */
    String describe();
  }

  /** {@code http: {url, timeout}}: POST application/json. */
  record Http(URI url, Duration timeout) implements Endpoint {
    @Override
    public String describe() {
      return url.toString();
    }
  }

  /** {@code grpc: {target, timeout}}: a {@code sluice.v1.FunctionService}. */
  record Grpc(String target, Duration timeout) implements Endpoint {
    @Override
    public String describe() {
      return "FunctionService at " + target;
    }
  }

  /** How many events an instance holds at most (in flight, waiting, or finished out of order). */
  int capacity() {
    return concurrency * batch;
  }

  /**
   * Reads and checks the settings.
   *
   * @throws ConfigException naming the key of the first bad setting
   */
  static EnrichSettings parse(StageConfig config) {
    Endpoint endpoint = endpoint(config);
    int concurrency = config.intValue("concurrency", DEFAULT_CONCURRENCY);
    if (concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new ConfigException(
          "concurrency", "'concurrency' must be between 1 and " + MAX_CONCURRENCY + ", got: " + concurrency);
    }
    boolean ordered = config.bool("ordered", true);
    int batch = batch(config);
    Duration maxAge = positive(config, "maxAge", DEFAULT_MAX_AGE);
    RetryPolicy retry = retry(config);
    String into = config.string("into", DEFAULT_INTO);
    if (into.isEmpty()) {
      throw new ConfigException("into", "'into' must name a payload field, e.g. into: enrichment");
    }
    return new EnrichSettings(endpoint, concurrency, ordered, batch, maxAge, retry, into);
  }

  private static Endpoint endpoint(StageConfig config) {
    boolean http = config.has("http");
    boolean grpc = config.has("grpc");
    if (http && grpc) {
      throw new ConfigException("grpc", "give either 'http' or 'grpc', not both");
    }
    if (!http && !grpc) {
      throw new ConfigException(
          "http",
          "'http' or 'grpc' is required, e.g. http: {url: \"http://localhost:7100/enrich\", timeout: 2s}"
              + " or grpc: {target: \"localhost:7101\", timeout: 2s}");
    }
    if (http) {
      mapping(config, "http", List.of("url", "timeout"), "{url: \"http://localhost:7100/enrich\", timeout: 2s}");
      return new Http(url(config), positive(config, "http.timeout", DEFAULT_TIMEOUT));
    }
    mapping(config, "grpc", List.of("target", "timeout"), "{target: \"localhost:7101\", timeout: 2s}");
    String target = config.string("grpc.target").trim();
    if (target.isEmpty()) {
      throw new ConfigException("grpc.target", "'grpc.target' must be a gRPC target such as localhost:7101");
    }
    return new Grpc(target, positive(config, "grpc.timeout", DEFAULT_TIMEOUT));
  }

  private static URI url(StageConfig config) {
    String text = config.string("http.url").trim();
    URI url;
    try {
      url = new URI(text);
    } catch (URISyntaxException e) {
      throw new ConfigException("http.url", "'http.url' is not a URL: " + e.getMessage());
    }
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    if ((!scheme.equals("http") && !scheme.equals("https")) || url.getHost() == null) {
      throw new ConfigException(
          "http.url", "'http.url' must be an http:// or https:// URL with a host, got: " + text);
    }
    return url;
  }

  private static int batch(StageConfig config) {
    JsonNode node = config.node("batch").orElse(null);
    if (node == null || node.isObject()) {
      // An object is the runtime's own output batching ({maxEvents, maxBytes, linger}), which every
      // stage has: leave it to the runtime and call per event.
      return 1;
    }
    int batch = config.intValue("batch", 1);
    if (batch < 1 || batch > MAX_BATCH) {
      throw new ConfigException("batch", "'batch' (events per call) must be between 1 and " + MAX_BATCH + ", got: " + batch);
    }
    return batch;
  }

  private static RetryPolicy retry(StageConfig config) {
    if (config.has("retry")) {
      mapping(config, "retry", List.of("initial", "max", "multiplier", "jitter"),
          "{initial: 50ms, max: 2s, multiplier: 2.0, jitter: 0.5}");
    }
    Duration initial = positive(config, "retry.initial", Duration.ofMillis(50));
    Duration max = positive(config, "retry.max", Duration.ofSeconds(2));
    if (max.compareTo(initial) < 0) {
      throw new ConfigException(
          "retry.max", "'retry.max' (" + Durations.describe(max) + ") must not be below 'retry.initial' ("
              + Durations.describe(initial) + ")");
    }
    double multiplier = config.doubleValue("retry.multiplier", 2.0);
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new ConfigException("retry.multiplier", "'retry.multiplier' must be a number of at least 1.0, got: " + multiplier);
    }
    double jitter = config.doubleValue("retry.jitter", 0.5);
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new ConfigException("retry.jitter", "'retry.jitter' must be between 0 and 1, got: " + jitter);
    }
    return new RetryPolicy(initial, max, multiplier, jitter);
  }

  /** Checks that {@code key} is a mapping with only the given keys (typos are errors, not defaults). */
  private static void mapping(StageConfig config, String key, List<String> allowed, String example) {
    JsonNode node = config.node(key).orElseThrow();
    if (!node.isObject()) {
      throw new ConfigException(key, "'" + key + "' must be a mapping such as " + example + ", got: " + node);
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw new ConfigException(
            key + "." + name, "unknown setting '" + key + "." + name + "'; '" + key + "' takes " + allowed);
      }
    }
  }

  private static Duration positive(StageConfig config, String key, Duration defaultValue) {
    Duration d = config.duration(key, defaultValue);
    if (d.toMillis() < 1) {
      throw new ConfigException(key, "'" + key + "' must be at least 1ms, got: " + d.toMillis() + "ms");
    }
    return d;
  }
}
