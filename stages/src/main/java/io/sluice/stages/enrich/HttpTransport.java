package io.sluice.stages.enrich;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.runtime.api.Record;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;

/**
 * The HTTP protocol of the enrich stage: {@code POST} with {@code Content-Type: application/json}.
 * With {@code batch: 1} the body is the event's payload (its bytes as they arrived) and a 2xx answer
 * is one JSON object; with {@code batch} above 1 the body is a JSON array of payloads and the answer
 * a JSON array of as many objects, in the same order. Anything else is a failed attempt.
 *
 * <p>Calls go through {@link HttpClient#sendAsync} on the client's own executor (daemon threads,
 * shut down in {@link #close}); answers are parsed there, off the operator's thread.
 */
final class HttpTransport implements Transport {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int SNIPPET = 120;

  private final URI url;
  private final boolean arrays;
  private final ExecutorService executor;
  private final HttpClient client;

  /**
   * @param url where to POST
   * @param arrays whether bodies and answers are arrays ({@code batch} above 1)
   * @param executor the client's executor; closed with the transport
   */
  HttpTransport(URI url, boolean arrays, ExecutorService executor) {
    this.url = url;
    this.arrays = arrays;
    this.executor = executor;
    // Redirects are not followed: a 3xx is a failed attempt, like any other non-2xx status.
    HttpClient.Builder builder = HttpClient.newBuilder().executor(executor);
    if ("http".equalsIgnoreCase(url.getScheme())) {
      // Plain HTTP/1.1: no h2c upgrade dance on every new connection; https negotiates HTTP/2.
      builder.version(HttpClient.Version.HTTP_1_1);
    }
    this.client = builder.build();
  }

  @Override
  public CompletableFuture<List<Outcome>> call(List<Record<byte[], byte[]>> events, Duration timeout) {
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(arrays ? array(events) : events.get(0).value()))
            .build();
    return client
        .sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
        .handle(
            (response, error) -> {
              if (error != null) {
                throw failure(error, timeout);
              }
              return answer(response, events.size());
            });
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }

  /** The payloads as one JSON array; each is a JSON object already (checked on arrival). */
  private static byte[] array(List<Record<byte[], byte[]>> events) {
    int size = 2;
    for (Record<byte[], byte[]> e : events) {
      size += e.value().length + 1;
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream(size);
    body.write('[');
    for (int i = 0; i < events.size(); i++) {
      if (i > 0) {
        body.write(',');
      }
      body.writeBytes(events.get(i).value());
    }
    body.write(']');
    return body.toByteArray();
  }

  private List<Outcome> answer(HttpResponse<byte[]> response, int events) {
    int status = response.statusCode();
    if (status < 200 || status > 299) {
      throw new CallFailure("HTTP " + status + " from " + url);
    }
    JsonNode answer;
    try {
      answer = MAPPER.readTree(response.body());
    } catch (IOException e) {
      String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
      throw malformed("not JSON (" + why + "): " + snippet(response.body()));
    }
    if (answer == null || answer.isMissingNode()) {
      throw malformed("an empty body");
    }
    if (!arrays) {
      if (!answer.isObject()) {
        throw malformed("expected a JSON object, got: " + snippet(answer));
      }
      return List.of(new Outcome.Enriched(answer));
    }
    if (!answer.isArray()) {
      throw malformed("expected a JSON array of " + events + " objects, got: " + snippet(answer));
    }
    if (answer.size() != events) {
      throw malformed("expected " + events + " results (one per event), got " + answer.size());
    }
    List<Outcome> outcomes = new ArrayList<>(events);
    for (int i = 0; i < events; i++) {
      JsonNode one = answer.get(i);
      if (!one.isObject()) {
        throw malformed("result " + i + " is not a JSON object: " + snippet(one));
      }
      outcomes.add(new Outcome.Enriched(one));
    }
    return outcomes;
  }

  private CallFailure malformed(String what) {
    return new CallFailure("malformed answer from " + url + ": " + what);
  }

  private CallFailure failure(Throwable error, Duration timeout) {
    Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (e instanceof HttpTimeoutException) {
      return new CallFailure("no answer within " + Durations.describe(timeout) + " from " + url);
    }
    if (e instanceof ConnectException) {
      return new CallFailure(
          "cannot connect to " + url + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"));
    }
    if (e instanceof IOException) {
      return new CallFailure("I/O error calling " + url + ": " + e);
    }
    return new CallFailure("error calling " + url + ": " + e);
  }

  private static String snippet(JsonNode node) {
    return snippet(node.toString());
  }

  private static String snippet(byte[] body) {
    return snippet(new String(body, java.nio.charset.StandardCharsets.UTF_8));
  }

  private static String snippet(String text) {
    return text.length() <= SNIPPET ? text : text.substring(0, SNIPPET) + "...";
  }
}
