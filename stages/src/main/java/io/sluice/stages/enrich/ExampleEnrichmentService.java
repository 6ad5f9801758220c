package io.sluice.stages.enrich;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.google.common.hash.Hashing;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small HTTP enrichment service that speaks the {@code enrich} stage's protocol, for examples,
 * demos and tests: {@code POST /enrich} with a JSON object answers a JSON object; with a JSON array
 * of objects, an array of as many answers, in order.
 *
 * <p>The answer is derived from the payload's {@code "user"} field alone (its text; other JSON
 * values by their JSON text), deterministically: {@code {"segment": ..., "country": ..., "score":
 * 0..99}} from a murmur3 hash of it, so two runs and two replicas agree (see {@link
 * #enrichmentOf}). A payload without {@code "user"} gets {@code "unknown"} for both fields and
 * score 0.
 *
 * <p>To exercise a caller's retries and concurrency, it can fail a share of requests with {@code
 * 503} and delay every answer by a random time up to a maximum; delays are scheduled, not slept, so
 * slow answers do not tie up threads. Other errors: {@code 405} for a method other than POST,
 * {@code 400} for a body that is not a JSON object or an array of objects.
 *
 * <p>It listens on the loopback interface. Thread-safe; {@link #close()} stops it.
 */
public final class ExampleEnrichmentService implements AutoCloseable {
  /** The path it serves. */
  public static final String PATH = "/enrich";

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final List<String> SEGMENTS = List.of("new", "casual", "regular", "loyal", "vip");
  private static final List<String> COUNTRIES = List.of("DE", "FR", "US", "BR", "JP", "IN", "NG", "AU");

  private final HttpServer server;
  private final ExecutorService handlers;
  private final ScheduledExecutorService delays;
  private final double failureRate;
  private final long maxLatencyNanos;
  private final Random random;
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();

  private ExampleEnrichmentService(HttpServer server, double failureRate, Duration maxLatency, long seed) {
    this.server = server;
    this.failureRate = failureRate;
    this.maxLatencyNanos = maxLatency.toNanos();
    this.random = new Random(seed);
    this.handlers = Executors.newFixedThreadPool(4, named("enrichment-service"));
    this.delays = Executors.newSingleThreadScheduledExecutor(named("enrichment-service-delay"));
    server.setExecutor(handlers);
    server.createContext(PATH, this::handle);
  }

  /**
   * Starts the service on the loopback interface.
   *
   * @param port the port, or 0 for any free one (see {@link #port()})
   * @param failureRate the share of requests answered with 503, in [0, 1]
   * @param maxLatency each answer is delayed by a uniform random time in [0, maxLatency]
   * @param seed seeds the failures and delays
   * @throws UncheckedIOException when the port cannot be bound
   */
  public static ExampleEnrichmentService start(int port, double failureRate, Duration maxLatency, long seed) {
    if (!(failureRate >= 0 && failureRate <= 1)) {
      throw new IllegalArgumentException("failureRate must be between 0 and 1, got " + failureRate);
    }
    if (maxLatency.isNegative()) {
      throw new IllegalArgumentException("maxLatency must not be negative, got " + maxLatency);
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
    }
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen on port " + port + ": " + e.getMessage(), e);
    }
    ExampleEnrichmentService service = new ExampleEnrichmentService(server, failureRate, maxLatency, seed);
    server.start();
    return service;
  }

  /** The port it listens on. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** The URL to give the enrich stage's {@code http.url}. */
  public URI uri() {
    return URI.create("http://localhost:" + port() + PATH);
  }

  /** Requests received so far. */
  public long requests() {
    return requests.get();
  }

  /** Requests answered with the simulated 503 so far. */
  public long failures() {
    return failures.get();
  }

  /** Stops listening and drops answers still waiting out their delay. */
  @Override
  public void close() {
    server.stop(0);
    delays.shutdownNow();
    handlers.shutdownNow();
  }

  /**
   * The answer for one payload: {@code segment}, {@code country} and {@code score}, derived from
   * its {@code "user"} field by murmur3_32 (seed 0) of the user's UTF-8 text.
   */
  public static ObjectNode enrichmentOf(JsonNode payload) {
    ObjectNode answer = JsonNodeFactory.instance.objectNode();
    JsonNode user = payload.get("user");
    if (user == null || user.isNull()) {
      return answer.put("segment", "unknown").put("country", "unknown").put("score", 0);
    }
    String text = user.isTextual() ? user.textValue() : user.toString();
    int h = Hashing.murmur3_32_fixed().hashString(text, StandardCharsets.UTF_8).asInt();
    return answer
        .put("segment", SEGMENTS.get(Math.floorMod(h, SEGMENTS.size())))
        .put("country", COUNTRIES.get(Math.floorMod(h >>> 8, COUNTRIES.size())))
        .put("score", Math.floorMod(h >>> 16, 100));
  }

  private void handle(HttpExchange exchange) throws IOException {
    requests.incrementAndGet();
    if (!exchange.getRequestMethod().equalsIgnoreCase("POST")) {
      exchange.getResponseHeaders().set("Allow", "POST");
      respond(exchange, 0, 405, error("use POST with a JSON object or an array of JSON objects"));
      return;
    }
    byte[] body = exchange.getRequestBody().readAllBytes();
    double draw;
    long delay;
    synchronized (random) { // one sequence of draws per seed, whatever the threads
      draw = random.nextDouble();
      delay = maxLatencyNanos == 0 ? 0 : (long) (random.nextDouble() * maxLatencyNanos);
    }
    if (draw < failureRate) {
      failures.incrementAndGet();
      respond(exchange, delay, 503, error("simulated failure (failure rate " + failureRate + ")"));
      return;
    }
    JsonNode in;
    try {
      in = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      respond(exchange, delay, 400, error("the body is not JSON: " + e.getOriginalMessage()));
      return;
    }
    JsonNode out;
    if (in != null && in.isObject()) {
      out = enrichmentOf(in);
    } else if (in != null && in.isArray()) {
      ArrayNode answers = JsonNodeFactory.instance.arrayNode(in.size());
      for (int i = 0; i < in.size(); i++) {
        if (!in.get(i).isObject()) {
          respond(exchange, delay, 400, error("element " + i + " of the array is not a JSON object"));
          return;
        }
        answers.add(enrichmentOf(in.get(i)));
      }
      out = answers;
    } else {
      respond(exchange, delay, 400, error("the body must be a JSON object or an array of JSON objects"));
      return;
    }
    respond(exchange, delay, 200, MAPPER.writeValueAsBytes(out));
  }

  private void respond(HttpExchange exchange, long delayNanos, int status, byte[] body) {
    if (delayNanos <= 0) {
      send(exchange, status, body);
    } else {
      delays.schedule(() -> send(exchange, status, body), delayNanos, TimeUnit.NANOSECONDS);
    }
  }

  private static void send(HttpExchange exchange, int status, byte[] body) {
    try (exchange) {
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    } catch (IOException e) {
      // The caller gave up (timed out) and closed the connection: nothing to answer any more.
    }
  }

  private static byte[] error(String message) {
    try {
      return MAPPER.writeValueAsBytes(JsonNodeFactory.instance.objectNode().put("error", message));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static java.util.concurrent.ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> new Thread(r, prefix + "-" + n.incrementAndGet());
  }

  /**
   * Runs the service until the process is stopped: {@code [--port 7100] [--failure-rate 0.0]
   * [--max-latency 0ms] [--seed 1]}.
   */
  public static void main(String[] args) throws InterruptedException {
    int port = 7100;
    double failureRate = 0;
    Duration maxLatency = Duration.ZERO;
    long seed = 1;
    try {
      for (int i = 0; i < args.length; i++) {
        String option = args[i];
        if (option.equals("-h") || option.equals("--help")) {
          System.out.println(
              "usage: ExampleEnrichmentService [--port 7100] [--failure-rate 0.0] [--max-latency 0ms] [--seed 1]");
          return;
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(option + " needs a value");
        }
        String value = args[++i];
        switch (option) {
          case "--port" -> port = Integer.parseInt(value);
          case "--failure-rate" -> failureRate = Double.parseDouble(value);
          case "--max-latency" -> maxLatency = StageConfig.parseDuration("--max-latency", TextNode.valueOf(value));
          case "--seed" -> seed = Long.parseLong(value);
          default -> throw new IllegalArgumentException("unknown option " + option + "; see --help");
        }
      }
    } catch (IllegalArgumentException | ConfigException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(2);
      return;
    }
    ExampleEnrichmentService service = start(port, failureRate, maxLatency, seed);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      service.close();
      stopped.countDown();
    }, "enrichment-service-shutdown"));
    System.out.printf(
        Locale.ROOT,
        "example enrichment service on %s (failure rate %.2f, latency up to %d ms); Ctrl-C stops it%n",
        service.uri(),
        failureRate,
        maxLatency.toMillis());
    stopped.await();
  }
}
