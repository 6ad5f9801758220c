package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.sdk.common.CompletableResultCode;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;

/**
 * Drives the attempts of each export, as the SDK's OTLP exporter does: a transient failure is
 * retried up to {@value #MAX_ATTEMPTS} attempts in all, after a delay drawn at random below a bound
 * that starts at the initial backoff (1 s) and grows ×{@value #BACKOFF_MULTIPLIER} per retry up to
 * 5 s ("full jitter", so that exporters that failed together do not retry together). Retries wait
 * on one daemon scheduler thread; nothing here blocks or sleeps.
 *
 * <p>A request that fails for good is logged as a WARNING naming the destination and the reason,
 * since the spans in it are lost; at most one such warning every 30 s, with the count of the
 * others (see {@link DropWarnings}).
 *
 * <p>Threading: thread-safe. {@link #run} starts the first attempt on the caller's thread, retries
 * on the scheduler thread; outcomes may complete on any thread (the transport's).
 */
final class OtlpRetrier {
  static final int MAX_ATTEMPTS = 5;
  static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofSeconds(1);
  static final double BACKOFF_MULTIPLIER = 1.5;
  static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
  /** Added to the reason of a TLS failure. */
  static final String TLS_HINT = " (check that otel.exporter.otlp.certificate, or else the JVM, trusts the CA of the"
      + " collector's certificate, that this certificate is issued for the endpoint's host, and, if the collector"
      + " asks for a client certificate, otel.exporter.otlp.client.certificate and client.key)";

  /**
   * What one attempt came to.
   *
   * @param reason why it failed, as a clause for a log line; empty on success
   * @param cause the transport's exception, or null
   */
  record Outcome(Verdict verdict, String reason, Throwable cause) {
    static final Outcome SUCCESS = new Outcome(Verdict.SUCCESS, "", null);

    static Outcome retryable(String reason, Throwable cause) {
      return new Outcome(Verdict.RETRYABLE, reason, cause);
    }

    static Outcome failed(String reason, Throwable cause) {
      return new Outcome(Verdict.FAILED, reason, cause);
    }
  }

  /** Whether an attempt delivered the request, and if not whether trying again may help. */
  enum Verdict {
    SUCCESS,
    /** A transient failure: the OTLP spec allows the same request to be sent again. */
    RETRYABLE,
    /** The collector refused the request, or it cannot be sent: retrying would fail the same way. */
    FAILED
  }

  /** A transport's way to send one request once. */
  @FunctionalInterface
  interface Attempt {
    /** Sends the request; must not block, and must complete the future eventually. */
    CompletableFuture<Outcome> start();
  }

  private static final Logger LOG = Logger.getLogger(OtlpRetrier.class.getName());

  private final String destination;
  private final boolean retryEnabled;
  private final long initialBackoffNanos;
  private final LongUnaryOperator random;
  private final ScheduledExecutorService scheduler;
  private final DropWarnings drops;
  private final Set<Export> unfinished = ConcurrentHashMap.newKeySet();
  private volatile boolean shutdown;

  /**
   * @param destination where the spans go, for log messages ({@code OTLP/gRPC endpoint http://h:4317})
   * @param initialBackoff the bound of the first retry's delay (tests shorten it)
   * @param random a value drawn uniformly from [0, bound) for a given bound
   * @param nanoTime the clock that spaces the warnings about dropped requests
   */
  OtlpRetrier(String destination, boolean retryEnabled, Duration initialBackoff, LongUnaryOperator random,
      LongSupplier nanoTime) {
    if (initialBackoff.isNegative() || initialBackoff.isZero()) {
      throw new IllegalArgumentException("initialBackoff must be positive: " + initialBackoff);
    }
    this.destination = Objects.requireNonNull(destination, "destination");
    this.retryEnabled = retryEnabled;
    this.initialBackoffNanos = initialBackoff.toNanos();
    this.random = Objects.requireNonNull(random, "random");
    this.drops = new DropWarnings(LOG, destination, nanoTime);
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sluice-otlp-retry");
      t.setDaemon(true); // a pending retry must not keep the process alive
      return t;
    });
  }

  OtlpRetrier(String destination, boolean retryEnabled, Duration initialBackoff) {
    this(destination, retryEnabled, initialBackoff, bound -> ThreadLocalRandom.current().nextLong(bound),
        System::nanoTime);
  }

  /**
   * Runs {@code attempt} until it succeeds, fails for good, or has been tried {@value #MAX_ATTEMPTS}
   * times, and completes the returned result accordingly.
   *
   * @param size the request's size in bytes, for the log line when the spans are dropped
   */
  CompletableResultCode run(Attempt attempt, int size) {
    Export export = new Export(attempt, size);
    if (shutdown) {
      export.finish(Outcome.failed("the exporter is shut down", null));
      return export.result;
    }
    unfinished.add(export);
    export.start();
    return export.result;
  }

  /**
   * Refuses new exports, cancels the retries that wait (failing their results: their spans are
   * dropped) and stops the scheduler thread. Attempts already under way complete, without retry.
   */
  void shutdown() {
    shutdown = true;
    for (Export export : unfinished) {
      export.abandon();
    }
    scheduler.shutdownNow();
  }

  /**
   * A transport exception for a one-line log message: its class and message, and those of its root
   * cause when that adds something (often the telling part: "Connection refused", "PKIX path
   * building failed").
   */
  static String describe(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String text = one(failure);
    if (root != failure && root.getMessage() != null && !text.contains(root.getMessage())) {
      text += ", caused by " + one(root);
    }
    return text.replaceAll("\\s*\\R\\s*", " ");
  }

  private static String one(Throwable t) {
    if (t.getMessage() != null) {
      return t.getClass().getName() + ": " + t.getMessage();
    }
    // The JDK's HttpClient says nothing more when it cannot connect.
    return t.getClass().getName() + (t instanceof ConnectException ? " (connection refused or host unreachable)" : "");
  }

  /** Whether {@code failure} or one of its causes is a TLS failure, which retrying would repeat. */
  static boolean isTlsFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SSLException) {
        return true;
      }
    }
    return false;
  }

  /** The upper bound of the delay before retry number {@code retry} (1 for the first retry). */
  static long backoffBoundNanos(long initialBackoffNanos, int retry) {
    double bound = initialBackoffNanos * Math.pow(BACKOFF_MULTIPLIER, retry - 1);
    return (long) Math.min(bound, MAX_BACKOFF.toNanos());
  }

  /** The attempts of one request. */
  private final class Export {
    final Attempt attempt;
    final int size;
    final CompletableResultCode result = new CompletableResultCode();

    // Guarded by this.
    private int attempts;
    private ScheduledFuture<?> pendingRetry;
    private boolean finished;

    Export(Attempt attempt, int size) {
      this.attempt = attempt;
      this.size = size;
    }

    void start() {
      synchronized (this) {
        if (finished) {
          return;
        }
        pendingRetry = null;
        attempts++;
      }
      CompletableFuture<Outcome> outcome;
      try {
        outcome = attempt.start();
      } catch (RuntimeException e) {
        outcome = CompletableFuture.completedFuture(Outcome.failed("the request could not be sent: " + e, e));
      }
      outcome.whenComplete((o, e) -> onOutcome(o != null ? o : Outcome.failed("the attempt failed: " + e, e)));
    }

    private void onOutcome(Outcome outcome) {
      if (outcome.verdict() == Verdict.RETRYABLE && retryEnabled) {
        synchronized (this) {
          if (shutdown) {
            outcome = Outcome.failed(outcome.reason() + ", not retried as the exporter is shut down", outcome.cause());
          } else if (attempts < MAX_ATTEMPTS && !finished) {
            long delay = random.applyAsLong(backoffBoundNanos(initialBackoffNanos, attempts));
            try {
              pendingRetry = scheduler.schedule(this::start, delay, TimeUnit.NANOSECONDS);
              return;
            } catch (RejectedExecutionException e) {
              // The scheduler was shut down between the check and here: fall through to failing.
            }
          }
        }
      }
      finish(outcome);
    }

    /** Cancels a waiting retry: the request will not be sent again. */
    void abandon() {
      synchronized (this) {
        if (pendingRetry == null || !pendingRetry.cancel(false)) {
          return; // an attempt is under way and completes on its own
        }
      }
      finish(Outcome.failed("the exporter was shut down before a retry", null));
    }

    void finish(Outcome outcome) {
      int tried;
      synchronized (this) {
        if (finished) {
          return;
        }
        finished = true;
        tried = attempts;
      }
      unfinished.remove(this);
      if (outcome.verdict() == Verdict.SUCCESS) {
        drops.delivered();
        result.succeed();
        return;
      }
      String message = "Could not export spans to the " + destination + ": " + outcome.reason()
          + (tried > 1 ? " (after " + tried + " attempts)" : "") + "; " + size + " bytes of spans dropped";
      drops.dropped(message, size);
      result.failExceptionally(new OtlpExportException(message, outcome.cause()));
    }
  }
}
