package io.sluice.runtime.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Cancellable;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.TraceParent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class OperatorTestDriverTest {
  private static final OutputTag<String, String> ODD = new OutputTag<>("odd", Serdes.string(), Serdes.string());

  /** Upper-cases values; throws on "boom" (with a message) and "silent" (without one). */
  static final class Upper implements Operator<String, String, String, String> {
    private OperatorContext<String, String> context;
    int processed;

    @Override
    public void init(OperatorContext<String, String> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, String> record) {
      processed++;
      switch (record.value()) {
        case "boom" -> throw new IllegalArgumentException("cannot shout boom");
        case "silent" -> throw new IllegalStateException();
        case "reject" -> context.deadLetter("rejected on purpose");
        default -> context.forward(record.withValue(record.value().toUpperCase()));
      }
    }
  }

  private static OperatorTestDriver<String, String, String, String> upper(Upper op) {
    return OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "upper");
  }

  @Test
  void anExceptionFromProcessDeadLettersTheInputAndProcessingContinues() {
    Upper op = new Upper();
    try (var driver = upper(op)) {
      driver.pipeInput("k1", "boom", 10);
      driver.pipeInput("k2", "silent", 11);
      driver.pipeInput("k3", "ok", 12);

      List<DeadLetter> dead = driver.readDeadLetters();
      assertThat(dead).extracting(DeadLetter::reason).containsExactly("cannot shout boom", "IllegalStateException");
      assertThat(dead.get(0).keyAsString()).isEqualTo("k1");
      assertThat(dead.get(0).payloadAsString()).isEqualTo("boom");
      assertThat(dead.get(0).input().getEventTime()).isEqualTo(10);
      assertThat(driver.readOutputs()).containsExactly(new Record<>("k3", "OK", 12));
      assertThat(op.processed).isEqualTo(3);
    }
  }

  @Test
  void deadLetterSendsTheCurrentInputWithTheReason() {
    try (var driver = upper(new Upper())) {
      driver.pipeInput(new Record<>("e1", "k", "reject", 5, Map.of("source", "test"), null));

      DeadLetter dl = driver.readDeadLetters().get(0);
      assertThat(dl.reason()).isEqualTo("rejected on purpose");
      assertThat(dl.input().getId()).isEqualTo("e1");
      assertThat(dl.input().getAttributesMap()).containsExactly(Map.entry("source", "test"));
      assertThat(dl.toEvent().getAttributesMap()).containsEntry(DeadLetter.ERROR_ATTRIBUTE, "rejected on purpose");
      assertThat(dl.stage()).isEqualTo("upper");
      assertThat(dl.toRecord().attributes())
          .containsExactlyInAnyOrderEntriesOf(Map.of("error", "rejected on purpose", "stage", "upper", "source", "test"));
      assertThat(driver.isOutputEmpty()).isTrue();
    }
  }

  @Test
  void aPayloadTheSerdeRejectsIsDeadLetteredRawWithTheSerdeMessageAndNeverReachesTheOperator() {
    List<JsonNode> seen = new ArrayList<>();
    Operator<String, JsonNode, String, JsonNode> op = record -> seen.add(record.value());
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.json(), Serdes.string(), Serdes.json(), "s")) {
      byte[] bad = "{\"a\": ".getBytes(StandardCharsets.UTF_8);
      driver.pipeRawInput("k".getBytes(StandardCharsets.UTF_8), bad, 7);
      driver.pipeRawInput("k".getBytes(StandardCharsets.UTF_8), "{\"a\": 1}".getBytes(StandardCharsets.UTF_8), 8);

      List<DeadLetter> dead = driver.readDeadLetters();
      assertThat(dead).hasSize(1);
      assertThat(dead.get(0).reason()).startsWith("malformed JSON payload");
      assertThat(dead.get(0).input().getPayload().toByteArray()).isEqualTo(bad);
      assertThat(seen).hasSize(1);
    }
  }

  @Test
  void recordsForwardedUnchangedKeepTheInputBytesAndDerivedOnesAreReEncoded() {
    Operator<String, JsonNode, String, JsonNode> op =
        new Operator<>() {
          private OperatorContext<String, JsonNode> context;

          @Override
          public void init(OperatorContext<String, JsonNode> context) {
            this.context = context;
          }

          @Override
          public void process(Record<String, JsonNode> record) {
            context.forward(record);
            context.forward(record.withValue(record.value().get("a")));
          }
        };
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.json(), Serdes.string(), Serdes.json(), "s")) {
      driver.pipeRawInput("k".getBytes(StandardCharsets.UTF_8), "{ \"a\" : [1, 2] }".getBytes(StandardCharsets.UTF_8), 1);

      List<Event> out = driver.readOutputEvents();
      assertThat(out).hasSize(2);
      assertThat(out.get(0).getPayload().toStringUtf8()).isEqualTo("{ \"a\" : [1, 2] }");
      assertThat(out.get(1).getPayload().toStringUtf8()).isEqualTo("[1,2]");
      assertThat(out.get(1).getContentType()).isEqualTo("application/json");
    }
  }

  @Test
  void typedInputKeepsIdAttributesAndTraceThroughTheSerdes() {
    TraceParent trace = TraceParent.fromHeader("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "");
    try (var driver = upper(new Upper())) {
      driver.pipeInput(new Record<>("e9", "k", "hi", 42, Map.of("h", "v"), trace));
      Record<String, String> out = driver.readOutput();
      assertThat(out).isEqualTo(new Record<>("e9", "k", "HI", 42, Map.of("h", "v"), trace));
      assertThatThrownBy(driver::readOutput).isInstanceOf(NoSuchElementException.class).hasMessageContaining("upper");
    }
  }

  @Test
  void scheduledCallbacksFireInOrderOnTheFakeClock() {
    List<String> fired = new ArrayList<>();
    AtomicReference<OperatorContext<String, String>> ctx = new AtomicReference<>();
    AtomicReference<Cancellable> b = new AtomicReference<>();
    Operator<String, String, String, String> op =
        new Operator<>() {
          @Override
          public void init(OperatorContext<String, String> context) {
            ctx.set(context);
            long start = context.currentTimeMillis();
            context.schedule(Duration.ofMillis(10), () -> fired.add("a@" + (context.currentTimeMillis() - start)));
            b.set(context.schedule(Duration.ofMillis(25), () -> fired.add("b@" + (context.currentTimeMillis() - start))));
          }

          @Override
          public void process(Record<String, String> record) {}
        };
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "t")) {
      long start = driver.wallClockMillis();
      assertThat(start).isEqualTo(OperatorTestDriver.DEFAULT_WALL_CLOCK_START.toEpochMilli());

      driver.advanceWallClock(Duration.ofMillis(9));
      assertThat(fired).isEmpty();

      driver.advanceWallClock(Duration.ofMillis(41));
      // At 50 both are due; b has waited since 25, a only since 40, so b goes first.
      assertThat(fired).containsExactly("a@10", "a@20", "b@25", "a@30", "a@40", "b@50", "a@50");
      assertThat(ctx.get().currentTimeMillis()).isEqualTo(start + 50);

      fired.clear();
      b.get().cancel();
      driver.advanceWallClock(Duration.ofMillis(30));
      assertThat(fired).containsExactly("a@60", "a@70", "a@80");
    }
  }

  @Test
  void closeCallsOperatorCloseCollectsItsOutputAndStopsTimersAndInput() {
    List<String> fired = new ArrayList<>();
    Operator<String, String, String, String> op =
        new Operator<>() {
          private OperatorContext<String, String> context;
          private int seen;

          @Override
          public void init(OperatorContext<String, String> context) {
            this.context = context;
            context.schedule(Duration.ofSeconds(1), () -> fired.add("tick"));
          }

          @Override
          public void process(Record<String, String> record) {
            seen++;
          }

          @Override
          public void close() {
            context.forward(new Record<>("total", Integer.toString(seen), 0));
          }
        };
    var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "c");
    driver.pipeInput("k", "v", 1);
    driver.pipeInput("k", "v", 2);
    driver.close();
    driver.close(); // idempotent: close() ran once, one record

    assertThat(driver.readOutputs()).containsExactly(new Record<>("total", "2", 0));
    driver.advanceWallClock(Duration.ofSeconds(5));
    assertThat(fired).isEmpty();
    assertThatThrownBy(() -> driver.pipeInput("k", "v", 3)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  @Test
  void deadLetterOutsideProcessIsRefused() {
    Operator<String, String, String, String> op =
        new Operator<>() {
          @Override
          public void init(OperatorContext<String, String> context) {
            context.schedule(Duration.ofMillis(1), () -> context.deadLetter("no input here"));
          }

          @Override
          public void process(Record<String, String> record) {}
        };
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "d")) {
      assertThatThrownBy(() -> driver.advanceWallClock(Duration.ofMillis(1)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("only be called from process()");
    }
  }

  @Test
  void sideOutputsMustBeDeclared() {
    OutputTag<String, String> undeclared = new OutputTag<>("oops", Serdes.string(), Serdes.string());
    Operator<String, String, String, String> op =
        new Operator<>() {
          private OperatorContext<String, String> context;

          @Override
          public void init(OperatorContext<String, String> context) {
            this.context = context;
          }

          @Override
          public void process(Record<String, String> record) {
            context.forward(record.value().equals("odd") ? ODD : undeclared, record);
          }
        };
    var definition = new StageDefinition<>(Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), () -> op, List.of(ODD));
    try (var driver = new OperatorTestDriver<>(definition, "side")) {
      driver.pipeInput("k", "odd", 1);
      driver.pipeInput("k", "other", 2);

      assertThat(driver.readSideOutput(ODD)).containsExactly(new Record<>("k", "odd", 1));
      assertThat(driver.readDeadLetters()).singleElement().extracting(DeadLetter::reason).asString().contains("'oops'", "does not declare");
      assertThatThrownBy(() -> driver.readSideOutput("oops")).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void anOutputTheSerdeCannotEncodeDeadLettersTheInput() {
    Serde<String> picky =
        new Serde<>() {
          @Override
          public byte[] serialize(String value) {
            if (value.isEmpty()) {
              throw new SerdeException("cannot encode an empty value");
            }
            return value.getBytes(StandardCharsets.UTF_8);
          }

          @Override
          public String deserialize(byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
          }
        };
    Operator<String, String, String, String> op =
        new Operator<>() {
          private OperatorContext<String, String> context;

          @Override
          public void init(OperatorContext<String, String> context) {
            this.context = context;
          }

          @Override
          public void process(Record<String, String> record) {
            context.forward(record.withValue(record.value().trim()));
          }
        };
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), picky, "p")) {
      driver.pipeInput("k", "   ", 1);
      assertThat(driver.readDeadLetters()).singleElement().extracting(DeadLetter::reason).isEqualTo("cannot encode an empty value");
      assertThat(driver.isOutputEmpty()).isTrue();
    }
  }

  @Test
  void anOperatorCallingItsContextFromAnotherThreadFails() throws Exception {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Operator<String, String, String, String> op =
        new Operator<>() {
          private OperatorContext<String, String> context;

          @Override
          public void init(OperatorContext<String, String> context) {
            this.context = context;
          }

          @Override
          public void process(Record<String, String> record) {
            Thread t = new Thread(() -> {
              try {
                context.forward(record);
              } catch (Throwable e) {
                failure.set(e);
              }
            }, "rogue");
            t.start();
            try {
              t.join();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "r")) {
      driver.pipeInput("k", "v", 1);
      assertThat(failure.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("'rogue'");
      assertThat(driver.isOutputEmpty()).isTrue();
    }
  }

  @Test
  void typedInputOfTheWrongTypeFailsInPipeInputNotInTheOperator() {
    Operator<String, JsonNode, String, JsonNode> op = record -> {};
    var definition = StageDefinition.of(Serdes.string(), Serdes.json(), Serdes.string(), Serdes.json(), () -> op);
    // The caller claims String values for a JSON stage, as a wrong forStage(...) guess would.
    @SuppressWarnings({"unchecked", "rawtypes"})
    OperatorTestDriver<String, String, String, String> driver =
        new OperatorTestDriver<>((StageDefinition) definition, "typed");
    try (driver) {
      assertThatThrownBy(() -> driver.pipeInput("k", "not a JsonNode", 1)).isInstanceOf(ClassCastException.class);
      driver.pipeRawInput(Event.newBuilder().setPayload(com.google.protobuf.ByteString.copyFromUtf8("{}")).build());
      assertThat(driver.readDeadLetters()).isEmpty();
    }
  }

  @Test
  void theContextNamesTheInstance() {
    AtomicReference<OperatorContext<String, String>> ctx = new AtomicReference<>();
    Operator<String, String, String, String> op =
        new Operator<>() {
          @Override
          public void init(OperatorContext<String, String> context) {
            ctx.set(context);
          }

          @Override
          public void process(Record<String, String> record) {}
        };
    var definition = StageDefinition.of(Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), () -> op);
    try (var driver = new OperatorTestDriver<>(definition, "count", 1, OperatorTestDriver.DEFAULT_WALL_CLOCK_START.plusSeconds(5))) {
      assertThat(ctx.get().stageName()).isEqualTo("count");
      assertThat(ctx.get().instanceId()).isEqualTo("count-1");
      assertThat(ctx.get().instanceIndex()).isEqualTo(1);
      assertThat(driver.wallClockMillis()).isEqualTo(OperatorTestDriver.DEFAULT_WALL_CLOCK_START.toEpochMilli() + 5000);
    }
  }

  @Test
  void newRecordsGetIdsAndTraceContextDerivedFromTheirInputOnTheWire() {
    TraceParent trace = TraceParent.fromHeader("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "");
    Operator<String, String, String, String> op =
        new Operator<>() {
          private OperatorContext<String, String> context;

          @Override
          public void init(OperatorContext<String, String> context) {
            this.context = context;
          }

          @Override
          public void process(Record<String, String> record) {
            context.forward(new Record<>("fresh", record.value(), record.timestamp()));
          }

          @Override
          public void close() {
            context.forward(new Record<>("bye", "", 0));
          }
        };
    var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "gen");
    driver.pipeInput(new Record<>("e1", "k", "v", 1, Map.of(), trace));
    driver.pipeInput("k", "no id", 2);
    driver.close();

    List<Event> out = driver.readOutputEvents();
    assertThat(out).extracting(Event::getId).containsExactly("e1/gen-0", "gen-0-0", "gen-0-1");
    assertThat(out.get(0).getTrace().getSpanId().toByteArray()).isEqualTo(trace.spanIdBytes());
    assertThat(out.get(1).hasTrace()).isFalse();
  }

  @Test
  void subMillisecondSchedulesKeepTheirPeriod() {
    List<Long> fired = new ArrayList<>();
    Operator<String, String, String, String> op =
        new Operator<>() {
          @Override
          public void init(OperatorContext<String, String> context) {
            context.schedule(Duration.ofNanos(250_000), () -> fired.add(context.currentTimeMillis()));
          }

          @Override
          public void process(Record<String, String> record) {}
        };
    try (var driver = OperatorTestDriver.forOperator(op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "fast")) {
      long start = driver.wallClockMillis();
      driver.advanceWallClock(Duration.ofMillis(1));
      assertThat(fired).containsExactly(start, start, start, start + 1);
    }
  }
}
