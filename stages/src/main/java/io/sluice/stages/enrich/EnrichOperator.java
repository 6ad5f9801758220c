package io.sluice.stages.enrich;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StateSnapshot;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The operator of an {@code enrich} stage (see {@link EnrichStageFactory}): asynchronous calls to
 * a service, never blocking its thread.
 *
 * <p>Every accepted event is <em>held</em> until it is emitted, dead-lettered or dropped. A held
 * event is waiting for a call slot, in a call, waiting out a backoff, or (ordered mode) finished
 * behind an earlier event. Once it holds {@code concurrency × batch} events {@link #isReady()}
 * turns false and the runtime stops feeding it, so backpressure reaches upstream (the runtime asks
 * between input batches, so up to one input batch more may arrive; those wait for a call slot). At
 * most {@code concurrency} calls are in flight at any time, whatever the input.
 *
 * <p>Time: an event's age runs on {@link System#nanoTime()} from when it reached {@link #process},
 * as do the backoffs (a {@link ScheduledExecutorService} with one daemon thread per operator) and
 * call timeouts. No attempt starts once the event is {@code maxAge} old: a backoff that would end
 * later is cut to end then, and the event is dead-lettered; an attempt started before keeps its
 * full timeout. So an event is given up at most {@code maxAge + timeout} after it arrived.
 *
 * <p>Checkpoints: the stage keeps no state of its own beyond the held events, and {@link
 * #hasPendingWork()} is true while any is held: waiting for a call slot, in a call, waiting out a
 * backoff, or finished behind an earlier one. The runtime takes a snapshot only once it is false,
 * so every event before the barrier has been emitted, dead-lettered or dropped by then, and {@link
 * #snapshotState} writes nothing (it fails if called with events still held). A restore therefore
 * needs nothing either: the events after the barrier come again, and are called again.
 *
 * <p>Threading: the runtime calls it on its subtask's thread; call completions and backoff ends
 * come back through {@link OperatorContext#executor()}, so all state is confined to that thread.
 */
final class EnrichOperator implements Operator<byte[], byte[], byte[], JsonNode> {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final EnrichSettings settings;
  private final LongSupplier nanoClock;
  private final SplittableRandom random = new SplittableRandom();
  private final long maxAgeNanos;
  private final java.time.Duration timeout;

  private OperatorContext<byte[], JsonNode> context;
  private Executor mailbox;
  private ScheduledExecutorService timers;
  private Transport transport;

  // Every held event, in arrival order (ordered mode emits from its head).
  private final LinkedHashSet<Pending> held = new LinkedHashSet<>();
  private final ArrayDeque<Pending> fresh = new ArrayDeque<>();
  private final ArrayDeque<Pending> retries = new ArrayDeque<>();
  // Event times of the held events not yet emitted or dead-lettered, with their counts.
  private final TreeMap<Long, Integer> holds = new TreeMap<>();
  private int callsInFlight;
  private boolean closed;

  EnrichOperator(EnrichSettings settings) {
    this(settings, System::nanoTime);
  }

  EnrichOperator(EnrichSettings settings, LongSupplier nanoClock) {
    this.settings = settings;
    this.nanoClock = nanoClock;
    this.maxAgeNanos = settings.maxAge().toNanos();
    this.timeout = settings.endpoint().timeout();
  }

  /** One held event. */
  private static final class Pending {
    final Record<byte[], byte[]> record;
    final ObjectNode payload;
    final long arrivedNanos;
    final long deadlineNanos;
    int attempts;
    String lastError;
    boolean finished;
    Record<byte[], JsonNode> output; // ordered mode: the result waiting for its turn

    Pending(Record<byte[], byte[]> record, ObjectNode payload, long arrivedNanos, long maxAgeNanos) {
      this.record = record;
      this.payload = payload;
      this.arrivedNanos = arrivedNanos;
      this.deadlineNanos = arrivedNanos + maxAgeNanos;
    }
  }

  @Override
  public void init(OperatorContext<byte[], JsonNode> context) {
    this.context = context;
    this.mailbox = context.executor();
    String name = "enrich-" + context.instanceId();
    ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, daemon(name + "-backoff"));
    scheduler.setRemoveOnCancelPolicy(true); // timeouts are cancelled far more often than they fire
    this.timers = scheduler;
    if (settings.endpoint() instanceof EnrichSettings.Http http) {
      ExecutorService io = Executors.newCachedThreadPool(daemon(name + "-http"));
      this.transport = new HttpTransport(http.url(), settings.batch() > 1, io);
    } else {
      this.transport = new GrpcTransport(((EnrichSettings.Grpc) settings.endpoint()).target(), timers);
    }
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    JsonNode payload;
    try {
      payload = MAPPER.readTree(record.value());
    } catch (IOException e) {
      String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
      context.deadLetter("enrich: the payload is not JSON (" + why + "); it must be a JSON object");
      return;
    }
    if (payload == null || !payload.isObject()) {
      context.deadLetter(
          "enrich: the payload is " + kind(payload) + ", not a JSON object, so the answer cannot be put under '"
              + settings.into() + "'");
      return;
    }
    Pending p = new Pending(record, (ObjectNode) payload, nanoClock.getAsLong(), maxAgeNanos);
    held.add(p);
    holds.merge(record.timestamp(), 1, Integer::sum);
    fresh.add(p);
    dispatch();
  }

  @Override
  public boolean isReady() {
    return held.size() < settings.capacity();
  }

  @Override
  public boolean hasPendingWork() {
    return !held.isEmpty();
  }

  /**
   * Writes nothing: the runtime snapshots only when {@link #hasPendingWork()} is false, so nothing
   * is held (see the class comment).
   *
   * @throws IllegalStateException when events are still held, which the runtime's contract rules
   *     out: their results would be neither in the snapshot nor before it
   */
  @Override
  public void snapshotState(StateSnapshot<byte[]> snapshot) {
    if (!held.isEmpty()) {
      throw new IllegalStateException("enrich " + context.instanceId() + ": checkpoint " + snapshot.checkpointId()
          + " was taken with " + held.size() + " events still held (" + callsInFlight + " calls in flight); the"
          + " runtime must wait for hasPendingWork() to be false before snapshotState");
    }
  }

  @Override
  public long watermarkHold() {
    return holds.isEmpty() ? Long.MAX_VALUE : holds.firstKey();
  }

  /**
   * After a clean end nothing is held (the runtime waited for {@link #hasPendingWork()}). If the
   * stage is stopped with events still held, finished ones are emitted in order and the rest are
   * dead-lettered, so none is lost silently.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    long now = nanoClock.getAsLong();
    for (Pending p : held) {
      if (p.output != null) {
        context.forward(p.output);
      } else if (!p.finished) {
        context.deadLetter(p.record, reason("the stage closed before the call finished", p, now));
      }
    }
    held.clear();
    holds.clear();
    timers.shutdownNow();
    transport.close();
  }

  // ---------------------------------------------------------------- calls

  /** Starts calls while slots are free and events wait. */
  private void dispatch() {
    while (callsInFlight < settings.concurrency()) {
      long now = nanoClock.getAsLong();
      List<Pending> batch = new ArrayList<>(Math.min(settings.batch(), retries.size() + fresh.size()));
      while (batch.size() < settings.batch()) {
        // Retries first: they are older, and closer to their deadline.
        Pending p = retries.isEmpty() ? fresh.poll() : retries.poll();
        if (p == null) {
          break;
        }
        if (now - p.deadlineNanos >= 0) {
          giveUp(p, now);
        } else {
          batch.add(p);
        }
      }
      if (batch.isEmpty()) {
        return;
      }
      start(batch);
    }
  }

  private void start(List<Pending> batch) {
    List<Record<byte[], byte[]>> records = new ArrayList<>(batch.size());
    for (Pending p : batch) {
      p.attempts++;
      records.add(p.record);
    }
    callsInFlight++;
    CompletableFuture<List<Outcome>> call;
    try {
      // The full timeout even near maxAge: an attempt cut short would abandon calls the service
      // may still be working on, so it would see more than `concurrency` of them.
      call = transport.call(records, timeout);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    // Always through the mailbox, even when already complete: never re-enter dispatch().
    call.whenComplete((outcomes, error) -> mailbox.execute(() -> callEnded(batch, outcomes, error)));
  }

  private void callEnded(List<Pending> batch, List<Outcome> outcomes, Throwable error) {
    callsInFlight--;
    if (closed) {
      return;
    }
    long now = nanoClock.getAsLong();
    if (error != null) {
      Throwable cause = unwrap(error);
      String why = cause instanceof CallFailure ? cause.getMessage() : "unexpected error: " + cause;
      for (Pending p : batch) {
        failed(p, why, now);
      }
    } else {
      for (int i = 0; i < batch.size(); i++) {
        Pending p = batch.get(i);
        Outcome outcome = outcomes.get(i);
        if (outcome instanceof Outcome.Enriched e) {
          p.payload.set(settings.into(), e.value());
          done(p, p.record.withValue(p.payload));
        } else if (outcome instanceof Outcome.Rejected r) {
          deadLetter(p, r.reason());
        } else {
          done(p, null); // Outcome.Dropped
        }
      }
    }
    dispatch();
  }

  /** A failed attempt: retry after a backoff, or give up when the event is too old. */
  private void failed(Pending p, String why, long now) {
    p.lastError = why;
    long remaining = p.deadlineNanos - now;
    if (remaining <= 0) {
      giveUp(p, now);
      return;
    }
    long delay = Math.min(settings.retry().delayNanos(p.attempts, random.nextDouble()), remaining);
    timers.schedule(() -> mailbox.execute(() -> backoffOver(p)), delay, TimeUnit.NANOSECONDS);
  }

  private void backoffOver(Pending p) {
    if (closed) {
      return;
    }
    retries.add(p);
    dispatch();
  }

  private void giveUp(Pending p, long now) {
    deadLetter(p, reason("gave up", p, now));
  }

  private void deadLetter(Pending p, String reason) {
    context.deadLetter(p.record, reason);
    done(p, null);
  }

  // ---------------------------------------------------------------- emitting

  /** An event is through: {@code output} is its result, or null when there is none to emit. */
  private void done(Pending p, Record<byte[], JsonNode> output) {
    p.finished = true;
    if (output == null) {
      unhold(p); // dead-lettered or dropped: nothing left to forward behind the watermark
    }
    if (settings.ordered()) {
      p.output = output; // emitted from the head, in arrival order
      emitInOrder();
      return;
    }
    if (output != null) {
      context.forward(output);
      unhold(p);
    }
    held.remove(p);
  }

  /** Ordered mode: emits the finished events at the head of the arrival order. */
  private void emitInOrder() {
    for (Iterator<Pending> it = held.iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (!p.finished) {
        return;
      }
      it.remove();
      if (p.output != null) {
        context.forward(p.output);
        p.output = null;
        unhold(p);
      }
    }
  }

  private void unhold(Pending p) {
    holds.computeIfPresent(p.record.timestamp(), (t, n) -> n == 1 ? null : n - 1);
  }

  // ---------------------------------------------------------------- messages

  private static String reason(String what, Pending p, long now) {
    String last =
        p.lastError != null
            ? p.lastError
            : "no call slot came free in time";
    return String.format(
        Locale.ROOT,
        "enrich: %s after %d attempt%s in %s: %s",
        what,
        p.attempts,
        p.attempts == 1 ? "" : "s",
        Durations.seconds(now - p.arrivedNanos),
        last);
  }

  private static Throwable unwrap(Throwable error) {
    Throwable e = error;
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  private static String kind(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "empty";
    }
    JsonNodeType type = node.getNodeType();
    return switch (type) {
      case ARRAY -> "a JSON array";
      case STRING -> "a JSON string";
      case NUMBER -> "a JSON number";
      case BOOLEAN -> "a JSON boolean";
      case NULL -> "JSON null";
      default -> "JSON " + type.name().toLowerCase(Locale.ROOT);
    };
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
