package io.sluice.runtime.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.TimeDomain;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Timers, watermarks and asynchronous work in the test kit. */
class OperatorTestDriverTimeTest {

  /** Sums values per key and emits the sum when the watermark passes the end of a 10 ms window. */
  static final class WindowSum implements Operator<String, String, String, String> {
    private OperatorContext<String, String> context;
    private final java.util.Map<String, Long> sums = new java.util.HashMap<>();
    long lastWatermarkSeen = Long.MIN_VALUE;

    @Override
    public void init(OperatorContext<String, String> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, String> record) {
      long end = record.timestamp() - Math.floorMod(record.timestamp(), 10) + 10;
      sums.merge(record.key() + "@" + end, Long.parseLong(record.value()), Long::sum);
      context.<String>timerService().registerEventTimeTimer(record.key(), end - 1);
    }

    @Override
    public void onTimer(String key, long timestamp, TimeDomain domain) {
      assertThat(context.currentWatermark()).isGreaterThanOrEqualTo(timestamp);
      Long sum = sums.remove(key + "@" + (timestamp + 1));
      context.forward(new Record<>(key, key + "=" + sum, timestamp));
    }

    @Override
    public void onWatermark(long watermark) {
      lastWatermarkSeen = watermark;
    }
  }

  @Test
  void eventTimeTimersFireWhenTheWatermarkPassesThemAndBeforeOnWatermark() {
    WindowSum op = new WindowSum();
    try (var driver = OperatorTestDriver.forOperator(
        op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "sum")) {
      driver.pipeInput("a", "1", 3);
      driver.pipeInput("a", "2", 7);
      driver.pipeInput("b", "5", 12);

      driver.advanceWatermark(8);
      assertThat(driver.readOutputs()).isEmpty();
      assertThat(driver.pendingTimers(TimeDomain.EVENT_TIME)).isEqualTo(2);

      driver.advanceWatermark(9);
      assertThat(driver.readOutputs()).extracting(Record::value).containsExactly("a=3");
      assertThat(op.lastWatermarkSeen).isEqualTo(9);

      driver.advanceWatermark(5); // never back: nothing happens
      assertThat(driver.currentWatermark()).isEqualTo(9);

      driver.advanceWatermark(Long.MAX_VALUE);
      assertThat(driver.readOutputs()).extracting(Record::value).containsExactly("b=5");
      assertThat(driver.pendingTimers(TimeDomain.EVENT_TIME)).isZero();
    }
  }

  /** Emits "<key> timeout" when no record for a key came within 1 s of processing time. */
  static final class Timeout implements Operator<String, String, String, String> {
    private OperatorContext<String, String> context;
    private final java.util.Map<String, Long> deadline = new java.util.HashMap<>();

    @Override
    public void init(OperatorContext<String, String> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, String> record) {
      var timers = context.<String>timerService();
      Long old = deadline.put(record.key(), timers.currentProcessingTime() + 1_000);
      if (old != null) {
        timers.deleteProcessingTimeTimer(record.key(), old);
      }
      timers.registerProcessingTimeTimer(record.key(), deadline.get(record.key()));
    }

    @Override
    public void onTimer(String key, long timestamp, TimeDomain domain) {
      assertThat(domain).isEqualTo(TimeDomain.PROCESSING_TIME);
      assertThat(context.currentTimeMillis()).isEqualTo(timestamp);
      deadline.remove(key);
      context.forward(new Record<>(key, key + " timeout", 0));
    }
  }

  @Test
  void processingTimeTimersFollowTheFakeWallClock() {
    try (var driver = OperatorTestDriver.forOperator(
        new Timeout(), Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "timeout")) {
      driver.pipeInput("a", "x", 0);
      driver.advanceWallClock(Duration.ofMillis(600));
      driver.pipeInput("a", "x", 0); // pushes a's deadline to 1600
      driver.pipeInput("b", "x", 0); // deadline 1600 too
      driver.advanceWallClock(Duration.ofMillis(900));
      assertThat(driver.readOutputs()).isEmpty();

      driver.advanceWallClock(Duration.ofMillis(100));
      assertThat(driver.readOutputs()).extracting(Record::value).containsExactly("a timeout", "b timeout");
    }
  }

  /** Upper-cases values on another thread; at most two in flight; gives up on "fail". */
  static final class AsyncUpper implements Operator<String, String, String, String> {
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private OperatorContext<String, String> context;
    private final ArrayDeque<Record<String, String>> inFlight = new ArrayDeque<>();
    int maxInFlight;

    @Override
    public void init(OperatorContext<String, String> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, String> record) {
      inFlight.add(record);
      maxInFlight = Math.max(maxInFlight, inFlight.size());
      pool.execute(() -> {
        String upper = record.value().toUpperCase(java.util.Locale.ROOT);
        context.executor().execute(() -> {
          inFlight.remove(record);
          if (upper.equals("FAIL")) {
            context.deadLetter(record, "gave up");
          } else {
            context.forward(record.withValue(upper));
          }
        });
      });
    }

    @Override
    public boolean isReady() {
      return inFlight.size() < 2;
    }

    @Override
    public boolean hasPendingWork() {
      return !inFlight.isEmpty();
    }

    @Override
    public long watermarkHold() {
      return inFlight.stream().mapToLong(Record::timestamp).min().orElse(Long.MAX_VALUE);
    }

    @Override
    public void close() {
      pool.shutdown();
    }
  }

  @Test
  void asynchronousCompletionsComeBackOnTheDriverThreadAndReadinessIsHonoured() {
    AsyncUpper op = new AsyncUpper();
    try (var driver = OperatorTestDriver.forOperator(
        op, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "upper")) {
      for (String v : List.of("a", "b", "fail", "c", "d")) {
        driver.pipeInput("k", v, 1);
      }
      driver.awaitPendingWork(Duration.ofSeconds(10));

      assertThat(op.maxInFlight).isEqualTo(2);
      assertThat(driver.readOutputs()).extracting(Record::value).containsExactlyInAnyOrder("A", "B", "C", "D");
      assertThat(driver.readDeadLetters()).extracting(DeadLetter::reason).containsExactly("gave up");
    }
  }

  @Test
  void anOperatorThatNeverBecomesReadyFailsTheTestWithAClearMessage() {
    Operator<String, String, String, String> stuck = new Operator<>() {
      @Override
      public void process(Record<String, String> record) {}

      @Override
      public boolean isReady() {
        return false;
      }
    };
    var driver = OperatorTestDriver.forOperator(
        stuck, Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), "stuck");
    driver.setAsyncTimeout(Duration.ofMillis(50));
    assertThatThrownBy(() -> driver.pipeInput("k", "v", 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("stuck")
        .hasMessageContaining("isReady()");
  }
}
