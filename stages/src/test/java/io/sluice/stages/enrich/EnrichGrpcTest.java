package io.sluice.stages.enrich;

import static io.sluice.stages.enrich.EnrichTesting.deadNs;
import static io.sluice.stages.enrich.EnrichTesting.enrich;
import static io.sluice.stages.enrich.EnrichTesting.event;
import static io.sluice.stages.enrich.EnrichTesting.ns;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.FunctionRequest;
import io.sluice.proto.v1.FunctionResponse;
import io.sluice.proto.v1.FunctionResult;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.testkit.DeadLetter;
import io.sluice.stages.enrich.EnrichTesting.Harness;
import io.sluice.stages.enrich.LoopbackFunctionServer.Action;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The enrich stage against a real FunctionService on loopback. */
class EnrichGrpcTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static int n(Event e) {
    try {
      return MAPPER.readTree(e.getPayload().toByteArray()).get("n").asInt();
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  private static FunctionResult enriched(Event e) {
    return FunctionResult.newBuilder()
        .addOutputs(Event.newBuilder().setPayload(ByteString.copyFromUtf8("{\"tag\":\"T" + n(e) + "\"}")))
        .build();
  }

  /** A response with one result per event of the request, made by {@code result}. */
  private static FunctionResponse respond(FunctionRequest request, Function<Event, FunctionResult> result) {
    FunctionResponse.Builder r = FunctionResponse.newBuilder().setRequestId(request.getRequestId());
    request.getEventsList().forEach(e -> r.addResults(result.apply(e)));
    return r.build();
  }

  private static void assertTagged(List<Record<byte[], JsonNode>> outputs) {
    for (Record<byte[], JsonNode> r : outputs) {
      assertThat(r.value().get("enrichment").get("tag").asText()).isEqualTo("T" + r.value().get("n").asInt());
    }
  }

  @Test
  void enrichesRejectsAndDropsAsTheResultsSayWithAnswersOutOfOrder() throws Exception {
    Random random = new Random(3);
    LoopbackFunctionServer.Behaviour behaviour = (request, i) -> {
      long delay;
      synchronized (random) {
        delay = random.nextInt(15);
      }
      return new Action.Answer(respond(request, e -> switch (n(e) % 5) {
        case 1 -> FunctionResult.newBuilder().setError("no such user").build();
        case 2 -> FunctionResult.getDefaultInstance(); // no outputs: drop the event
        default -> enriched(e);
      }), delay);
    };
    try (var server = new LoopbackFunctionServer(behaviour)) {
      Harness h = enrich("{grpc: {target: '" + server.target() + "'}, concurrency: 4, batch: 3}");
      try (var d = h.driver()) {
        for (int i = 0; i < 30; i++) {
          d.pipeRawInput(event(i).toBuilder().putAttributes("a", "b").build());
        }
        d.awaitPendingWork(DEADLINE);
        List<Record<byte[], JsonNode>> out = d.readOutputs();
        assertThat(ns(out)).containsExactlyElementsOf(IntStream.range(0, 30).filter(i -> i % 5 != 1 && i % 5 != 2).boxed().toList());
        assertTagged(out);
        List<DeadLetter> dead = d.readDeadLetters();
        assertThat(deadNs(dead)).containsExactlyInAnyOrderElementsOf(IntStream.range(0, 30).filter(i -> i % 5 == 1).boxed().toList());
        assertThat(dead).allSatisfy(l -> assertThat(l.reason())
            .isEqualTo("enrich: FunctionService at " + server.target() + " rejected the event: no such user"));
        // Every event was sent once (no retries), as the stage received it.
        List<Event> sent = server.received.stream().flatMap(r -> r.getEventsList().stream()).toList();
        assertThat(sent).hasSize(30);
        assertThat(server.received).allSatisfy(r -> assertThat(r.getEventsCount()).isBetween(1, 3));
        assertThat(server.received.stream().map(FunctionRequest::getRequestId)).doesNotHaveDuplicates();
        Event first = sent.stream().filter(e -> e.getId().equals("e-0")).findFirst().orElseThrow();
        assertThat(first).isEqualTo(event(0).toBuilder().putAttributes("a", "b").setContentType("application/json").build());
        assertThat(server.streams()).isEqualTo(1);
      }
    }
  }

  @Test
  void aFailedStreamFailsItsCallsWhichAreRetriedOnANewStream() throws Exception {
    Random random = new Random(11);
    LoopbackFunctionServer.Behaviour flaky = (request, i) -> {
      double draw;
      long delay;
      synchronized (random) {
        draw = random.nextDouble();
        delay = random.nextInt(10);
      }
      return draw < 0.3 ? new Action.FailStream() : new Action.Answer(respond(request, EnrichGrpcTest::enriched), delay);
    };
    try (var server = new LoopbackFunctionServer(flaky)) {
      Harness h = enrich("{grpc: {target: '" + server.target() + "', timeout: '10s'}, concurrency: 6, ordered: false,"
          + " maxAge: '20s', retry: {initial: '5ms', max: '50ms'}}");
      try (var d = h.driver()) {
        for (int i = 0; i < 60; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        List<Record<byte[], JsonNode>> out = d.readOutputs();
        assertThat(ns(out)).containsExactlyInAnyOrderElementsOf(IntStream.range(0, 60).boxed().toList());
        assertTagged(out);
        assertThat(d.readDeadLetters()).isEmpty();
        assertThat(server.streams()).isGreaterThan(1);
        assertThat(server.requests()).isGreaterThan(60);
        assertThat(server.maxOutstanding()).isLessThanOrEqualTo(6);
      }
    }
  }

  @Test
  void anUnansweredRequestTimesOutWhileTheStreamServesTheOthers() throws Exception {
    LoopbackFunctionServer.Behaviour silentOnThree = (request, i) ->
        n(request.getEvents(0)) == 3 ? new Action.Ignore() : new Action.Answer(respond(request, EnrichGrpcTest::enriched), 0);
    try (var server = new LoopbackFunctionServer(silentOnThree)) {
      Harness h = enrich("{grpc: {target: '" + server.target() + "', timeout: '100ms'}, maxAge: '500ms',"
          + " retry: {initial: '10ms'}}");
      try (var d = h.driver()) {
        for (int i = 0; i < 6; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        assertThat(ns(d.readOutputs())).containsExactly(0, 1, 2, 4, 5);
        assertThat(d.readDeadLetters()).singleElement().satisfies(l -> {
          assertThat(l.input().getId()).isEqualTo("e-3");
          assertThat(l.reason()).matches("enrich: gave up after \\d+ attempts? in \\d+\\.\\d s: no answer within \\d+ ms from "
              + Pattern.quote("FunctionService at " + server.target()));
        });
        assertThat(server.streams()).isEqualTo(1);
      }
    }
  }

  @Test
  void answersThatDoNotFitTheContractAreFailedAttempts() throws Exception {
    LoopbackFunctionServer.Behaviour wrong = (request, i) -> {
      Event e = request.getEvents(0);
      FunctionResponse.Builder r = FunctionResponse.newBuilder().setRequestId(request.getRequestId());
      switch (n(e)) {
        case 0 -> {} // no result at all
        case 1 -> r.addResults(FunctionResult.newBuilder().addOutputs(e).addOutputs(e));
        default -> r.addResults(FunctionResult.newBuilder().addOutputs(Event.newBuilder().setPayload(ByteString.copyFromUtf8("[1]"))));
      }
      return new Action.Answer(r.build(), 0);
    };
    try (var server = new LoopbackFunctionServer(wrong)) {
      Harness h = enrich("{grpc: {target: '" + server.target() + "'}, maxAge: '300ms', retry: {initial: '10ms'}}");
      try (var d = h.driver()) {
        for (int i = 0; i < 3; i++) {
          d.pipeRawInput(event(i));
        }
        d.awaitPendingWork(DEADLINE);
        assertThat(d.readOutputs()).isEmpty();
        List<String> reasons = new ArrayList<>();
        List<DeadLetter> dead = d.readDeadLetters();
        dead.sort((a, b) -> a.input().getId().compareTo(b.input().getId()));
        dead.forEach(l -> reasons.add(l.reason().replaceFirst("^enrich: gave up after \\d+ attempts? in \\d+\\.\\d s: ", "")));
        String from = "malformed answer from FunctionService at " + server.target() + ": ";
        assertThat(reasons).containsExactly(
            from + "expected 1 results (one per event), got 0",
            from + "result 0 has 2 outputs; enrich takes one (its payload is the enrichment) or none (drop the event)",
            from + "the payload of result 0 is not a JSON object: [1]");
      }
    }
  }
}
