package io.sluice.stages.enrich;

import static io.sluice.stages.enrich.EnrichTesting.deadNs;
import static io.sluice.stages.enrich.EnrichTesting.enrich;
import static io.sluice.stages.enrich.EnrichTesting.event;
import static io.sluice.stages.enrich.EnrichTesting.ns;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.stages.enrich.EnrichTesting.Harness;
import io.sluice.stages.enrich.LoopbackHttpServer.Answer;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The enrich stage against a real HTTP server on loopback. */
class EnrichHttpTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  /** The answer the test servers give for one payload: depends on the payload, to catch mix-ups. */
  private static ObjectNode tag(JsonNode payload) {
    return JsonNodeFactory.instance.objectNode().put("tag", "T" + payload.get("n").asInt());
  }

  private static Answer tagAll(JsonNode body) {
    if (!body.isArray()) {
      return Answer.ok(tag(body));
    }
    ArrayNode out = JsonNodeFactory.instance.arrayNode();
    body.forEach(p -> out.add(tag(p)));
    return Answer.ok(out);
  }

  private static void assertTagged(List<Record<byte[], JsonNode>> outputs) {
    for (Record<byte[], JsonNode> r : outputs) {
      assertThat(r.value().get("enrichment")).isEqualTo(tag(r.value()));
    }
  }

  @ParameterizedTest(name = "ordered: {0}")
  @ValueSource(booleans = {true, false})
  void everyEventIsEnrichedOrDeadLetteredExactlyOnceDespiteFailuresAndDelays(boolean ordered) throws Exception {
    Set<Integer> poison = Set.of(17, 70, 133);
    // About 30% of attempts fail with 503, decided per (event, attempt) from a fixed seed so the
    // outcome does not depend on timing: no event fails more than three times in a row, except the
    // poison ones, which always fail. Delays are random too, so answers overtake each other.
    Map<Integer, AtomicInteger> attempts = new ConcurrentHashMap<>();
    LoopbackHttpServer.Responder flaky = (body, i) -> {
      int n = body.get("n").asInt();
      int attempt = attempts.computeIfAbsent(n, k -> new AtomicInteger()).getAndIncrement();
      SplittableRandom random = new SplittableRandom(42L * 1_000_003 + n * 101L + attempt);
      long delay = random.nextInt(21);
      if (body.path("poison").asBoolean() || (attempt < 3 && random.nextDouble() < 0.3)) {
        return new Answer(503, "{\"error\":\"busy\"}", delay);
      }
      return Answer.ok(tag(body)).after(delay);
    };
    try (var server = new LoopbackHttpServer(flaky)) {
      Harness h = enrich("{http: {url: '" + server.url() + "', timeout: '5s'}, concurrency: 8, ordered: " + ordered
          + ", maxAge: '2s', retry: {initial: '5ms', max: '100ms'}}");
      try (var d = h.driver()) {
        int n = 150;
        for (int i = 0; i < n; i++) {
          d.pipeRawInput(event(i, 1_000 + i, poison.contains(i) ? "\"poison\":true" : ""));
        }
        d.awaitPendingWork(DEADLINE);

        List<Record<byte[], JsonNode>> out = d.readOutputs();
        List<DeadLetter> dead = d.readDeadLetters();
        List<Integer> all = new ArrayList<>(ns(out));
        all.addAll(deadNs(dead));
        assertThat(all).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(IntStream.range(0, n).boxed().toList());
        assertThat(deadNs(dead)).containsExactlyInAnyOrderElementsOf(poison);
        assertTagged(out);
        if (ordered) {
          assertThat(ns(out)).isSorted();
        }
        Pattern reason = Pattern.compile(
            "enrich: gave up after (\\d+) attempts in (\\d+\\.\\d) s: HTTP 503 from " + Pattern.quote(server.url()));
        for (DeadLetter l : dead) {
          Matcher m = reason.matcher(l.reason());
          assertThat(m.matches()).as(l.reason()).isTrue();
          assertThat(Integer.parseInt(m.group(1))).isGreaterThan(1);
          assertThat(Double.parseDouble(m.group(2))).isGreaterThanOrEqualTo(2.0);
          assertThat(l.payloadAsString()).contains("\"poison\":true"); // the input, as it arrived
        }
        assertThat(server.maxInProgress()).isLessThanOrEqualTo(8);
        assertThat(server.requests()).isGreaterThan(n + n / 10); // the failures were real
        assertThat(h.operator().hasPendingWork()).isFalse();
        assertThat(h.operator().watermarkHold()).isEqualTo(Long.MAX_VALUE);
      }
    }
  }

  @Test
  void neverMoreCallsInFlightThanConcurrencyAndTheBoundIsReached() throws Exception {
    int concurrency = 5;
    CountDownLatch firstWave = new CountDownLatch(concurrency);
    Random random = new Random(7);
    LoopbackHttpServer.Responder gated = (body, i) -> {
      if (i < concurrency) {
        // Hold the first calls until `concurrency` are in progress at once: proves the stage
        // reaches its bound (it would never open otherwise), while the count shows it never
        // exceeds it.
        firstWave.countDown();
        if (!firstWave.await(20, TimeUnit.SECONDS)) {
          return new Answer(500, "{\"error\":\"the first wave never filled\"}", 0);
        }
      }
      long delay;
      synchronized (random) {
        delay = random.nextInt(11);
      }
      return Answer.ok(tag(body)).after(delay);
    };
    try (var server = new LoopbackHttpServer(gated)) {
      Harness h = enrich("{http: {url: '" + server.url() + "', timeout: '30s'}, concurrency: " + concurrency
          + ", ordered: false}");
      try (var d = h.driver()) {
        for (int i = 0; i < 80; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        List<Record<byte[], JsonNode>> out = d.readOutputs();
        assertThat(ns(out)).hasSize(80).doesNotHaveDuplicates();
        assertTagged(out);
        assertThat(d.readDeadLetters()).isEmpty();
        assertThat(server.maxInProgress()).isEqualTo(concurrency);
      }
    }
  }

  @Test
  void orderedModeEmitsInInputOrderWhenCallsFinishOutOfOrder() throws Exception {
    LoopbackHttpServer[] self = new LoopbackHttpServer[1];
    LoopbackHttpServer.Responder slowFirst = (body, i) -> {
      if (body.get("n").asInt() == 0) {
        // Answer event 0 only after three later events were answered.
        if (!self[0].awaitSent(3, 20)) {
          return new Answer(500, "{}", 0);
        }
      }
      return Answer.ok(tag(body));
    };
    try (var server = new LoopbackHttpServer(slowFirst)) {
      self[0] = server;
      Harness h = enrich("{http: {url: '" + server.url() + "'}, concurrency: 4}"); // ordered by default
      try (var d = h.driver()) {
        for (int i = 0; i < 10; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        List<Record<byte[], JsonNode>> out = d.readOutputs();
        assertThat(ns(out)).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertTagged(out);
      }
    }
  }

  @Test
  void unorderedModeEmitsResultsAsCallsComplete() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    LoopbackHttpServer.Responder slowFirst = (body, i) -> {
      if (body.get("n").asInt() == 0 && !release.await(20, TimeUnit.SECONDS)) {
        return new Answer(500, "{}", 0);
      }
      return Answer.ok(tag(body));
    };
    try (var server = new LoopbackHttpServer(slowFirst)) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, concurrency: 4, ordered: false}");
      try (var d = h.driver()) {
        for (int i = 0; i < 4; i++) {
          d.pipeRawInput(event(i));
        }
        assertThat(h.operator().isReady()).isFalse(); // four held, four calls in flight
        d.pipeRawInput(event(4)); // waits until a call completes and its event is emitted
        List<Integer> before = ns(d.readOutputs());
        assertThat(before).isNotEmpty().doesNotContain(0);
        release.countDown();
        for (int i = 5; i < 10; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        List<Integer> all = new ArrayList<>(before);
        all.addAll(ns(d.readOutputs()));
        assertThat(all).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
      }
    }
  }

  @Test
  void theWatermarkHoldIsTheOldestEventNotYetEmitted() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    LoopbackHttpServer.Responder gated = (body, i) -> {
      if (!release.await(20, TimeUnit.SECONDS)) {
        return new Answer(500, "{}", 0);
      }
      return Answer.ok(tag(body));
    };
    try (var server = new LoopbackHttpServer(gated)) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, concurrency: 4}");
      EnrichOperator op = h.operator();
      try (var d = h.driver()) {
        assertThat(op.watermarkHold()).isEqualTo(Long.MAX_VALUE);
        assertThat(op.hasPendingWork()).isFalse();
        d.pipeRawInput(event(0, 300, ""));
        d.pipeRawInput(event(1, 100, ""));
        d.pipeRawInput(event(2, 200, ""));
        assertThat(op.watermarkHold()).isEqualTo(100);
        assertThat(op.hasPendingWork()).isTrue();
        assertThat(op.isReady()).isTrue();
        d.pipeRawInput(event(3, 50, ""));
        assertThat(op.watermarkHold()).isEqualTo(50);
        assertThat(op.isReady()).isFalse();
        release.countDown();
        d.awaitPendingWork(DEADLINE);
        assertThat(ns(d.readOutputs())).containsExactly(0, 1, 2, 3);
        assertThat(op.watermarkHold()).isEqualTo(Long.MAX_VALUE);
        assertThat(op.isReady()).isTrue();
      }
    }
  }

  @Test
  void batchModeSendsTheWaitingEventsTogetherAsAnArray() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    LoopbackHttpServer.Responder batches = (body, i) -> {
      if (i < 2 && !release.await(20, TimeUnit.SECONDS)) {
        return new Answer(500, "{}", 0);
      }
      return tagAll(body);
    };
    try (var server = new LoopbackHttpServer(batches)) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, concurrency: 2, batch: 4}");
      try (var d = h.driver()) {
        // Capacity is concurrency x batch = 8: the first two events go out alone, six wait.
        for (int i = 0; i < 8; i++) {
          d.pipeRawInput(event(i));
        }
        assertThat(h.operator().isReady()).isFalse();
        release.countDown();
        for (int i = 8; i < 20; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        List<Record<byte[], JsonNode>> out = d.readOutputs();
        assertThat(ns(out)).containsExactlyElementsOf(IntStream.range(0, 20).boxed().toList());
        assertTagged(out);

        List<JsonNode> bodies = server.bodies();
        assertThat(bodies).allSatisfy(b -> assertThat(b.isArray()).isTrue());
        List<List<String>> users = bodies.stream().map(b -> b.findValuesAsText("user")).toList();
        assertThat(users).allSatisfy(u -> assertThat(u).hasSizeBetween(1, 4));
        assertThat(users.stream().flatMap(List::stream))
            .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 20).mapToObj(i -> "u-" + i).toList());
        // The first two went out alone; the six that waited went four together (then the rest)
        // as the two slots came free.
        assertThat(users).contains(List.of("u-0"), List.of("u-1"), List.of("u-2", "u-3", "u-4", "u-5"));
      }
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "200 | oops             | malformed answer from URL: not JSON (",
        "200 | [1]              | malformed answer from URL: expected a JSON object, got: [1]",
        "200 | ''               | malformed answer from URL: an empty body",
        "302 | ''               | HTTP 302 from URL",
        "404 | {\"error\": \"x\"} | HTTP 404 from URL",
      })
  void anAnswerOutsideTheProtocolIsAFailedAttempt(int status, String body, String expected) throws Exception {
    try (var server = new LoopbackHttpServer((b, i) -> new Answer(status, body, 0))) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, maxAge: '300ms', retry: {initial: '10ms', max: '50ms'}}");
      try (var d = h.driver()) {
        d.pipeRawInput(event(1));
        d.awaitPendingWork(DEADLINE);
        assertThat(d.readOutputs()).isEmpty();
        DeadLetter dead = d.readDeadLetters().get(0);
        assertThat(dead.reason()).startsWith("enrich: gave up after ").contains(expected.replace("URL", server.url()));
      }
    }
  }

  @Test
  void aBatchAnswerOfTheWrongLengthIsAFailedAttempt() throws Exception {
    LoopbackHttpServer.Responder short1 = (body, i) -> {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      for (int k = 1; k < body.size(); k++) {
        out.add(tag(body.get(k)));
      }
      return Answer.ok(out);
    };
    try (var server = new LoopbackHttpServer(short1)) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, batch: 3, maxAge: '300ms', retry: {initial: '10ms'}}");
      try (var d = h.driver()) {
        for (int i = 0; i < 3; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        assertThat(d.readOutputs()).isEmpty();
        List<DeadLetter> dead = d.readDeadLetters();
        assertThat(deadNs(dead)).containsExactlyInAnyOrder(0, 1, 2);
        assertThat(dead).allSatisfy(l -> assertThat(l.reason())
            .matches("enrich: gave up after \\d+ attempts? in \\d+\\.\\d s: malformed answer from "
                + Pattern.quote(server.url()) + ": expected (\\d) results \\(one per event\\), got \\d"));
      }
    }
  }

  @Test
  void anUnreachableServiceIsRetriedUntilMaxAge() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    String url = "http://127.0.0.1:" + port + "/enrich";
    Harness h = enrich("{http: {url: '" + url + "'}, maxAge: '300ms', retry: {initial: '10ms', max: '50ms'}}");
    try (var d = h.driver()) {
      d.pipeRawInput(event(1));
      d.awaitPendingWork(DEADLINE);
      assertThat(d.readDeadLetters()).singleElement().satisfies(l -> assertThat(l.reason())
          .matches("enrich: gave up after \\d+ attempts? in \\d+\\.\\d s: cannot connect to " + Pattern.quote(url) + ".*"));
    }
  }

  @Test
  void aCallWithoutAnswerTimesOutAndIsRetried() throws Exception {
    LoopbackHttpServer.Responder firstSilent = (body, i) -> i == 0 ? null : Answer.ok(tag(body));
    try (var server = new LoopbackHttpServer(firstSilent)) {
      Harness h = enrich("{http: {url: '" + server.url() + "', timeout: '200ms'}, retry: {initial: '10ms'}}");
      try (var d = h.driver()) {
        d.pipeRawInput(event(1));
        d.awaitPendingWork(DEADLINE);
        assertThat(ns(d.readOutputs())).containsExactly(1);
        assertThat(server.requests()).isEqualTo(2);
      }
    }
  }

  @Test
  void aServiceThatNeverAnswersEndsInADeadLetterNamingTheTimeout() throws Exception {
    try (var server = new LoopbackHttpServer((body, i) -> null)) {
      Harness h = enrich("{http: {url: '" + server.url() + "', timeout: '100ms'}, maxAge: '500ms', retry: {initial: '10ms'}}");
      try (var d = h.driver()) {
        d.pipeRawInput(event(1));
        d.awaitPendingWork(DEADLINE);
        assertThat(d.readDeadLetters()).singleElement().satisfies(l -> assertThat(l.reason())
            .matches("enrich: gave up after \\d+ attempts? in \\d+\\.\\d s: no answer within \\d+ ms from "
                + Pattern.quote(server.url())));
      }
    }
  }

  @Test
  void aPayloadThatIsNotAJsonObjectIsDeadLetteredAtOnce() throws Exception {
    try (var server = new LoopbackHttpServer((body, i) -> Answer.ok(tag(body)))) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}}");
      try (var d = h.driver()) {
        for (String payload : List.of("[1, 2]", "\"text\"", "42", "null", "{\"n\": ", "")) {
          d.pipeRawInput(Event.newBuilder().setId(payload).setPayload(ByteString.copyFromUtf8(payload)).build());
        }
        assertThat(h.operator().hasPendingWork()).isFalse();
        List<String> reasons = d.readDeadLetters().stream().map(DeadLetter::reason).toList();
        assertThat(reasons).hasSize(6);
        assertThat(reasons.subList(0, 4)).containsExactly(
            "enrich: the payload is a JSON array, not a JSON object, so the answer cannot be put under 'enrichment'",
            "enrich: the payload is a JSON string, not a JSON object, so the answer cannot be put under 'enrichment'",
            "enrich: the payload is a JSON number, not a JSON object, so the answer cannot be put under 'enrichment'",
            "enrich: the payload is JSON null, not a JSON object, so the answer cannot be put under 'enrichment'");
        assertThat(reasons.get(4)).startsWith("enrich: the payload is not JSON (");
        assertThat(reasons.get(5)).isEqualTo(
            "enrich: the payload is empty, not a JSON object, so the answer cannot be put under 'enrichment'");
        assertThat(server.requests()).isZero();
      }
    }
  }

  @Test
  void theOutputKeepsTheRecordAndPutsTheAnswerUnderInto() throws Exception {
    try (var server = new LoopbackHttpServer((body, i) -> Answer.ok(tag(body)))) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, into: 'extra'}");
      try (var d = h.driver()) {
        Event in = event(7, 123, "\"extra\":\"old\",\"nested\":{\"a\":[1]}").toBuilder()
            .putAttributes("h", "v").build();
        d.pipeRawInput(in);
        d.awaitPendingWork(DEADLINE);
        Event out = d.readOutputEvents().get(0);
        assertThat(out.getId()).isEqualTo("e-7");
        assertThat(out.getKey().toStringUtf8()).isEqualTo("k-7");
        assertThat(out.getEventTime()).isEqualTo(123);
        assertThat(out.getAttributesMap()).containsEntry("h", "v");
        JsonNode payload = LoopbackHttpServer.MAPPER.readTree(out.getPayload().toByteArray());
        assertThat(payload).isEqualTo(LoopbackHttpServer.MAPPER.readTree(
            "{\"n\":7,\"user\":\"u-7\",\"extra\":{\"tag\":\"T7\"},\"nested\":{\"a\":[1]}}"));
        // The service got the payload as it arrived.
        assertThat(server.bodies()).containsExactly(LoopbackHttpServer.MAPPER.readTree(in.getPayload().toByteArray()));
      }
    }
  }

  @Test
  void eachEventIsCountedOnceEvenWhenTheSameIdArrivesTwice() throws Exception {
    // Events are tracked by arrival, not by id: two arrivals are two results.
    try (var server = new LoopbackHttpServer((body, i) -> Answer.ok(tag(body)))) {
      Harness h = enrich("{http: {url: '" + server.url() + "'}, ordered: false}");
      try (var d = h.driver()) {
        d.pipeRawInput(event(3));
        d.pipeRawInput(event(3));
        d.awaitPendingWork(DEADLINE);
        assertThat(ns(d.readOutputs())).containsExactly(3, 3);
        assertThat(server.requests()).isEqualTo(2);
      }
    }
  }
}
