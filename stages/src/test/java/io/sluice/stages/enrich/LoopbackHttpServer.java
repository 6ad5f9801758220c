package io.sluice.stages.enrich;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on loopback for enrich tests. Each request's JSON body goes to a {@link
 * Responder} (which may block its thread, e.g. on a latch a test controls); its answer is sent after
 * the delay it asks for, scheduled rather than slept. Counts requests in progress from arrival to
 * just before the answer is sent, so the highest count never exceeds the caller's calls in flight.
 */
final class LoopbackHttpServer implements AutoCloseable {
  static final ObjectMapper MAPPER = new ObjectMapper();

  /** What to answer. */
  record Answer(int status, String body, long delayMillis) {
    static Answer ok(JsonNode body) {
      return new Answer(200, body.toString(), 0);
    }

    Answer after(long millis) {
      return new Answer(status, body, millis);
    }
  }

  /** Makes the answer to a request; {@code index} counts requests from 0. Null leaves it unanswered. */
  @FunctionalInterface
  interface Responder {
    Answer answer(JsonNode body, int index) throws Exception;
  }

  private final HttpServer server;
  private final ExecutorService handlers = Executors.newCachedThreadPool();
  private final ScheduledExecutorService delays = Executors.newScheduledThreadPool(2);
  private final Responder responder;
  private final AtomicInteger index = new AtomicInteger();
  private final AtomicInteger inProgress = new AtomicInteger();
  private final AtomicInteger maxInProgress = new AtomicInteger();
  private final ConcurrentLinkedQueue<JsonNode> bodies = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<HttpExchange> unanswered = new ConcurrentLinkedQueue<>();
  private final java.util.concurrent.Semaphore sent = new java.util.concurrent.Semaphore(0);

  LoopbackHttpServer(Responder responder) {
    this.responder = responder;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.setExecutor(handlers);
    server.createContext("/enrich", this::handle);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/enrich";
  }

  int requests() {
    return index.get();
  }

  int maxInProgress() {
    return maxInProgress.get();
  }

  /**
   * Waits until {@code n} more answers have been sent (each counts for one caller of this), at
   * most {@code seconds}; returns whether they were.
   */
  boolean awaitSent(int n, long seconds) throws InterruptedException {
    return sent.tryAcquire(n, seconds, TimeUnit.SECONDS);
  }

  /** The request bodies so far, in arrival order. */
  List<JsonNode> bodies() {
    return new ArrayList<>(bodies);
  }

  private void handle(HttpExchange exchange) throws IOException {
    int n = inProgress.incrementAndGet();
    maxInProgress.accumulateAndGet(n, Math::max);
    int i = index.getAndIncrement();
    JsonNode body = MAPPER.readTree(exchange.getRequestBody().readAllBytes());
    bodies.add(body);
    Answer answer;
    try {
      answer = responder.answer(body, i);
    } catch (Exception e) {
      answer = new Answer(500, "{\"error\":\"" + e + "\"}", 0);
    }
    if (answer == null) {
      inProgress.decrementAndGet(); // the caller will time out; it no longer counts this call
      unanswered.add(exchange);
      return;
    }
    Answer a = answer;
    if (a.delayMillis() <= 0) {
      send(exchange, a);
    } else {
      delays.schedule(() -> send(exchange, a), a.delayMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void send(HttpExchange exchange, Answer a) {
    inProgress.decrementAndGet();
    byte[] bytes = a.body().getBytes(StandardCharsets.UTF_8);
    try (exchange) {
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(a.status(), bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(bytes);
        }
      }
    } catch (IOException e) {
      // the client timed out and hung up
    }
    sent.release();
  }

  @Override
  public void close() {
    server.stop(0);
    unanswered.forEach(HttpExchange::close);
    delays.shutdownNow();
    handlers.shutdownNow();
  }
}
