package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.sluice.runtime.internal.trace.otlp.OtlpRetrier.Outcome;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The retry loop alone, with attempts that answer at once: how many attempts, which backoff bounds,
 * and what shutdown does to a waiting retry. (The transports' tests retry over real sockets.)
 */
class OtlpRetrierTest {
  private static final String WHERE = "OTLP/gRPC endpoint http://127.0.0.1:1";

  private final List<Long> bounds = new CopyOnWriteArrayList<>();
  private final AtomicLong clock = new AtomicLong();
  private final CapturedLogs logs = new CapturedLogs();
  private OtlpRetrier retrier;

  @AfterEach
  void tearDown() {
    if (retrier != null) {
      retrier.shutdown();
    }
    logs.close();
  }

  /** A retrier whose "random" delay is the whole bound, recorded. */
  private OtlpRetrier retrier(boolean retryEnabled, Duration initialBackoff) {
    retrier = new OtlpRetrier(WHERE, retryEnabled, initialBackoff, bound -> {
      bounds.add(bound);
      return bound;
    }, clock::get);
    return retrier;
  }

  private static OtlpRetrier.Attempt answering(AtomicInteger calls, Outcome... outcomes) {
    return () -> {
      int call = calls.getAndIncrement();
      return CompletableFuture.completedFuture(outcomes[Math.min(call, outcomes.length - 1)]);
    };
  }

  @Test
  void backoffBoundGrowsByHalfUpToFiveSeconds() {
    long second = Duration.ofSeconds(1).toNanos();
    assertThat(OtlpRetrier.backoffBoundNanos(second, 1)).isEqualTo(second);
    assertThat(OtlpRetrier.backoffBoundNanos(second, 2)).isEqualTo(1_500_000_000L);
    assertThat(OtlpRetrier.backoffBoundNanos(second, 3)).isEqualTo(2_250_000_000L);
    assertThat(OtlpRetrier.backoffBoundNanos(second, 4)).isEqualTo(3_375_000_000L);
    assertThat(OtlpRetrier.backoffBoundNanos(second, 5)).isEqualTo(5_000_000_000L);
  }

  @Test
  void transientFailuresAreRetriedUpToFiveAttemptsThenDropped() {
    AtomicInteger calls = new AtomicInteger();
    CompletableResultCode result = retrier(true, Duration.ofMillis(2))
        .run(answering(calls, Outcome.retryable("gRPC status UNAVAILABLE", null)), 42);
    assertThat(result.join(5, TimeUnit.SECONDS).isSuccess()).isFalse();
    assertThat(calls).hasValue(5);
    assertThat(bounds).containsExactly(2_000_000L, 3_000_000L, 4_500_000L, 6_750_000L);
    assertThat(result.getFailureThrowable()).isInstanceOf(OtlpExportException.class)
        .hasMessage("Could not export spans to the " + WHERE
            + ": gRPC status UNAVAILABLE (after 5 attempts); 42 bytes of spans dropped");
    assertThat(logs.warnings()).containsExactly(result.getFailureThrowable().getMessage());
  }

  @Test
  void succeedsOnTheAttemptThatSucceeds() {
    AtomicInteger calls = new AtomicInteger();
    CompletableResultCode result = retrier(true, Duration.ofMillis(2)).run(answering(calls,
        Outcome.retryable("503", null), Outcome.retryable("503", null), Outcome.SUCCESS), 1);
    assertThat(result.join(5, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(calls).hasValue(3);
    assertThat(logs.warnings()).isEmpty();
  }

  @Test
  void permanentFailureIsNotRetried() {
    AtomicInteger calls = new AtomicInteger();
    CompletableResultCode result = retrier(true, Duration.ofMillis(2))
        .run(answering(calls, Outcome.failed("HTTP status 400", null)), 7);
    assertThat(result.join(5, TimeUnit.SECONDS).isSuccess()).isFalse();
    assertThat(calls).hasValue(1);
    assertThat(logs.warnings()).containsExactly(
        "Could not export spans to the " + WHERE + ": HTTP status 400; 7 bytes of spans dropped");
  }

  @Test
  void noRetryWhenDisabled() {
    AtomicInteger calls = new AtomicInteger();
    CompletableResultCode result = retrier(false, Duration.ofMillis(2))
        .run(answering(calls, Outcome.retryable("UNAVAILABLE", null), Outcome.SUCCESS), 7);
    assertThat(result.join(5, TimeUnit.SECONDS).isSuccess()).isFalse();
    assertThat(calls).hasValue(1);
  }

  @Test
  void anAttemptThatThrowsFailsTheExport() {
    CompletableResultCode result = retrier(true, Duration.ofMillis(2)).run(() -> {
      throw new IllegalStateException("boom");
    }, 7);
    assertThat(result.join(5, TimeUnit.SECONDS).isSuccess()).isFalse();
    assertThat(result.getFailureThrowable()).hasMessageContaining("boom").hasCauseInstanceOf(IllegalStateException.class);
  }

  @Test
  void shutdownCancelsAWaitingRetryAndRefusesNewExports() throws InterruptedException {
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch retryScheduled = new CountDownLatch(1);
    retrier = new OtlpRetrier(WHERE, true, Duration.ofHours(1), bound -> {
      retryScheduled.countDown();
      return bound;
    }, clock::get);
    CompletableResultCode result = retrier.run(answering(calls, Outcome.retryable("UNAVAILABLE", null)), 7);
    assertThat(retryScheduled.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(result.isDone()).isFalse();

    retrier.shutdown();
    assertThat(result.join(5, TimeUnit.SECONDS).isDone()).isTrue();
    assertThat(result.isSuccess()).isFalse();
    assertThat(result.getFailureThrowable()).hasMessageContaining("shut down before a retry");
    assertThat(calls).hasValue(1);

    CompletableResultCode late = retrier.run(answering(calls, Outcome.SUCCESS), 7);
    assertThat(late.isDone()).isTrue();
    assertThat(late.isSuccess()).isFalse();
    assertThat(calls).hasValue(1);
  }

  @Test
  void dropsAreWarnedAtMostEveryThirtySecondsWithTheCountOfTheOthers() {
    OtlpRetrier r = retrier(false, Duration.ofMillis(1));
    AtomicInteger calls = new AtomicInteger();
    Outcome refused = Outcome.failed("HTTP 400 (bad request)", null);
    for (int i = 0; i < 3; i++) {
      assertThat(r.run(answering(calls, refused), 100).join(5, TimeUnit.SECONDS).isSuccess()).isFalse();
    }
    assertThat(logs.warnings()).hasSize(1);

    clock.addAndGet(Duration.ofSeconds(29).toNanos());
    r.run(answering(calls, refused), 100).join(5, TimeUnit.SECONDS);
    assertThat(logs.warnings()).as("still within 30 s of the first warning").hasSize(1);

    clock.addAndGet(Duration.ofSeconds(2).toNanos());
    r.run(answering(calls, refused), 100).join(5, TimeUnit.SECONDS);
    assertThat(logs.warnings()).hasSize(2);
    assertThat(logs.warnings().get(1)).startsWith("Could not export spans to the " + WHERE + ": HTTP 400")
        .endsWith("(and 3 more requests, 300 bytes of spans, dropped since the last such warning;"
            + " at most one warning every 30 s)");

    r.run(answering(calls, refused), 100).join(5, TimeUnit.SECONDS);
    r.run(answering(calls, refused), 100).join(5, TimeUnit.SECONDS);
    assertThat(r.run(answering(calls, Outcome.SUCCESS), 100).join(5, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(logs.warnings()).hasSize(2);
    assertThat(logs.infos()).containsExactly("Exports to the " + WHERE + " succeed again; 2 more requests"
        + " (200 bytes of spans) were dropped after the last warning");
  }
}
