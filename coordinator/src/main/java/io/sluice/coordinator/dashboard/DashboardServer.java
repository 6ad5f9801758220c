package io.sluice.coordinator.dashboard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sluice.coordinator.admin.StatusReporter;
import io.sluice.coordinator.checkpoint.CheckpointCoordinator;
import io.sluice.coordinator.events.ErrorLog;
import io.sluice.coordinator.metrics.CoordinatorMetrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves the dashboard over HTTP (the JDK's server): the page at {@code /}, its script and style,
 * the JSON API and the coordinator's Prometheus metrics.
 *
 * <table>
 *   <caption>Paths (GET only)</caption>
 *   <tr><td>{@code /}</td><td>the page</td></tr>
 *   <tr><td>{@code /api/status}</td><td>pipeline, stages with their figures, instances</td></tr>
 *   <tr><td>{@code /api/topology}</td><td>the graph: nodes with replicas and depth, edges</td></tr>
 *   <tr><td>{@code /api/checkpoints}</td><td>this run's checkpoints, newest first</td></tr>
 *   <tr><td>{@code /api/errors}</td><td>recent errors, newest first</td></tr>
 *   <tr><td>{@code /api/history?since=MILLIS}</td><td>per-stage rate samples</td></tr>
 *   <tr><td>{@code /metrics}</td><td>Prometheus text ({@link CoordinatorMetrics})</td></tr>
 * </table>
 *
 * <p>Any other path answers 404 and another method 405, with a JSON body {@code {error,
 * message}}; a bad query parameter answers 400.
 *
 * <p>Thread-safe: requests run on two daemon threads of the server's own; every view it reads is
 * thread-safe. {@link #close} stops it.
 */
public final class DashboardServer implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(DashboardServer.class.getName());
  private static final String STATIC = "/io/sluice/coordinator/dashboard/static/";
  private static final Map<String, String> PAGES = Map.of(
      "/", "index.html",
      "/index.html", "index.html",
      "/dashboard.js", "dashboard.js",
      "/dashboard.css", "dashboard.css");
  private static final List<String> API = List.of(
      "/api/status", "/api/topology", "/api/checkpoints", "/api/errors", "/api/history",
      "/metrics");
  /** How many errors {@code /api/errors} lists. */
  static final int ERRORS = 50;

  private final HttpServer server;
  private final ExecutorService executor;
  private final String url;

  /** What the dashboard shows; every part thread-safe. */
  public record Views(
      StatusReporter reporter,
      Optional<CheckpointCoordinator> checkpoints,
      ErrorLog errors,
      RateHistory history,
      Duration sampleInterval,
      CoordinatorMetrics metrics,
      Clock clock) {}

  private DashboardServer(HttpServer server, ExecutorService executor, String url) {
    this.server = server;
    this.executor = executor;
    this.url = url;
  }

  /**
   * Starts serving.
   *
   * @param bindHost the address to listen on, as the gRPC server's
   * @param port the port; 0 for any free one
   * @throws IOException when the port cannot be bound
   */
  public static DashboardServer start(String bindHost, int port, Views views) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(bindHost, port), 0);
    AtomicInteger threads = new AtomicInteger();
    ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "sluice-dashboard-" + threads.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", exchange -> handle(exchange, views));
    server.start();
    String url = "http://" + urlHost(bindHost) + ":" + server.getAddress().getPort() + "/";
    return new DashboardServer(server, executor, url);
  }

  /** {@code http://HOST:PORT/}; for a wildcard bind address, with {@code localhost}. */
  public String url() {
    return url;
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Stops at once: the page only polls, so no request is worth waiting for. Idempotent. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private static String urlHost(String bindHost) throws IOException {
    InetAddress address = InetAddress.getByName(bindHost);
    if (address.isAnyLocalAddress()) {
      return "localhost";
    }
    return bindHost.contains(":") ? "[" + bindHost + "]" : bindHost;
  }

  private static void handle(HttpExchange exchange, Views views) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        sendJson(exchange, 405, ApiDocuments.error(405,
            exchange.getRequestMethod() + " is not allowed: the dashboard only answers GET"));
        return;
      }
      if (PAGES.containsKey(path)) {
        sendResource(exchange, PAGES.get(path));
        return;
      }
      switch (path) {
        case "/api/status" -> sendJson(exchange, 200, ApiDocuments.status(
            views.reporter().status(), views.clock().millis()));
        case "/api/topology" -> sendJson(exchange, 200,
            ApiDocuments.topology(views.reporter().topology()));
        case "/api/checkpoints" -> sendJson(exchange, 200, ApiDocuments.checkpoints(
            views.checkpoints().isPresent(),
            views.checkpoints().map(CheckpointCoordinator::history).orElse(List.of())));
        case "/api/errors" -> sendJson(exchange, 200,
            ApiDocuments.errors(views.errors().latest(ERRORS)));
        case "/api/history" -> history(exchange, views);
        case "/metrics" -> metrics(exchange, views.metrics());
        default -> sendJson(exchange, 404, ApiDocuments.error(404, "no such path: " + path
            + "; the dashboard serves / and " + String.join(", ", API)));
      }
    } catch (IOException | RuntimeException e) {
      // The client gave up, or a view failed: log it; the exchange is closed either way.
      LOG.log(System.Logger.Level.DEBUG, "dashboard request failed", e);
    }
  }

  private static void history(HttpExchange exchange, Views views) throws IOException {
    long since = Long.MIN_VALUE;
    Optional<String> param = query(exchange.getRequestURI(), "since");
    if (param.isPresent()) {
      try {
        since = Long.parseLong(param.get());
      } catch (NumberFormatException e) {
        sendJson(exchange, 400, ApiDocuments.error(400, "'since' must be epoch milliseconds,"
            + " got: " + param.get()));
        return;
      }
    }
    sendJson(exchange, 200, ApiDocuments.history(views.sampleInterval().toMillis(),
        views.history().capacity(), views.history().since(since)));
  }

  private static void metrics(HttpExchange exchange, CoordinatorMetrics metrics)
      throws IOException {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    metrics.writePrometheus(text);
    send(exchange, 200, metrics.contentType(), text.toByteArray());
  }

  private static Optional<String> query(URI uri, String name) {
    String query = uri.getRawQuery();
    if (query == null) {
      return Optional.empty();
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0 && pair.substring(0, eq).equals(name)) {
        return Optional.of(URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return Optional.empty();
  }

  private static void sendResource(HttpExchange exchange, String name) throws IOException {
    byte[] body;
    try (InputStream in = DashboardServer.class.getResourceAsStream(STATIC + name)) {
      if (in == null) {
        throw new IOException("dashboard resource " + STATIC + name + " is missing from the jar");
      }
      body = in.readAllBytes();
    }
    String type = name.endsWith(".html") ? "text/html; charset=utf-8"
        : name.endsWith(".js") ? "text/javascript; charset=utf-8"
        : "text/css; charset=utf-8";
    send(exchange, 200, type, body);
  }

  private static void sendJson(HttpExchange exchange, int status, ObjectNode body)
      throws IOException {
    // The page polls: never let a cache answer for the coordinator.
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    send(exchange, status, "application/json; charset=utf-8",
        ApiDocuments.JSON.writeValueAsBytes(body));
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
