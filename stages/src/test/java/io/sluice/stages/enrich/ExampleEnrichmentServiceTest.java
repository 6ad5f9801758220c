package io.sluice.stages.enrich;

import static io.sluice.stages.enrich.EnrichTesting.enrich;
import static io.sluice.stages.enrich.EnrichTesting.event;
import static io.sluice.stages.enrich.EnrichTesting.ns;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.hash.Hashing;
import io.sluice.runtime.api.Record;
import io.sluice.stages.enrich.EnrichTesting.Harness;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ExampleEnrichmentServiceTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private HttpResponse<String> post(URI uri, String body) throws Exception {
    return client.send(
        HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void answersAnObjectForAnObjectAndAnArrayForAnArray() throws Exception {
    try (var service = ExampleEnrichmentService.start(0, 0, Duration.ZERO, 1)) {
      HttpResponse<String> one = post(service.uri(), "{\"user\": \"u-17\", \"action\": \"view\"}");
      assertThat(one.statusCode()).isEqualTo(200);
      JsonNode answer = MAPPER.readTree(one.body());
      int h = Hashing.murmur3_32_fixed().hashString("u-17", StandardCharsets.UTF_8).asInt();
      assertThat(answer.get("segment").asText())
          .isEqualTo(List.of("new", "casual", "regular", "loyal", "vip").get(Math.floorMod(h, 5)));
      assertThat(answer.get("country").asText())
          .isEqualTo(List.of("DE", "FR", "US", "BR", "JP", "IN", "NG", "AU").get(Math.floorMod(h >>> 8, 8)));
      assertThat(answer.get("score").asInt()).isEqualTo(Math.floorMod(h >>> 16, 100));

      HttpResponse<String> many = post(service.uri(), "[{\"user\": \"u-17\"}, {\"user\": \"u-18\"}, {\"x\": 1}]");
      assertThat(many.statusCode()).isEqualTo(200);
      assertThat(MAPPER.readTree(many.body())).containsExactly(
          answer,
          ExampleEnrichmentService.enrichmentOf(MAPPER.readTree("{\"user\": \"u-18\"}")),
          MAPPER.readTree("{\"segment\": \"unknown\", \"country\": \"unknown\", \"score\": 0}"));
      assertThat(service.requests()).isEqualTo(2);
    }
  }

  @Test
  void rejectsWhatIsNotTheProtocol() throws Exception {
    try (var service = ExampleEnrichmentService.start(0, 0, Duration.ZERO, 1)) {
      assertThat(post(service.uri(), "{\"user\": ").statusCode()).isEqualTo(400);
      assertThat(post(service.uri(), "\"u-1\"").statusCode()).isEqualTo(400);
      HttpResponse<String> mixed = post(service.uri(), "[{\"user\": \"a\"}, 3]");
      assertThat(mixed.statusCode()).isEqualTo(400);
      assertThat(mixed.body()).contains("element 1 of the array is not a JSON object");
      HttpResponse<String> get = client.send(HttpRequest.newBuilder(service.uri()).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(get.statusCode()).isEqualTo(405);
      assertThat(get.headers().firstValue("Allow")).hasValue("POST");
    }
  }

  @Test
  void failsEveryRequestAtRateOneAndNoneAtRateZero() throws Exception {
    try (var always = ExampleEnrichmentService.start(0, 1.0, Duration.ofMillis(5), 1)) {
      for (int i = 0; i < 5; i++) {
        assertThat(post(always.uri(), "{\"user\": \"u\"}").statusCode()).isEqualTo(503);
      }
      assertThat(always.failures()).isEqualTo(5);
    }
    assertThatThrownBy(() -> ExampleEnrichmentService.start(0, 1.5, Duration.ZERO, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("failureRate");
  }

  @Test
  void theEnrichStageEnrichesEveryEventThroughAFlakySlowService() throws Exception {
    try (var service = ExampleEnrichmentService.start(0, 0.3, Duration.ofMillis(20), 5)) {
      Harness h = enrich("{http: {url: '" + service.uri() + "'}, concurrency: 8, batch: 2,"
          + " retry: {initial: '5ms', max: '50ms'}}");
      try (var d = h.driver()) {
        for (int i = 0; i < 100; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(Duration.ofSeconds(60));
        List<Record<byte[], JsonNode>> out = d.readOutputs();
        assertThat(ns(out)).containsExactlyElementsOf(IntStream.range(0, 100).boxed().toList());
        for (Record<byte[], JsonNode> r : out) {
          assertThat(r.value().get("enrichment")).isEqualTo(ExampleEnrichmentService.enrichmentOf(r.value()));
        }
        assertThat(d.readDeadLetters()).isEmpty();
        assertThat(service.failures()).isPositive();
      }
    }
  }
}
