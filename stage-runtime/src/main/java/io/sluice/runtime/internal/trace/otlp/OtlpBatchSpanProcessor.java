package io.sluice.runtime.internal.trace.otlp;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.sluice.runtime.internal.trace.otlp.OtlpSpanEncoder.EncodedSpan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The stages' batch span processor for OTLP: it batches and exports finished spans as the SDK's
 * batch span processor does, under the same {@code OTEL_BSP_*} settings, but encodes each span
 * when it ends, on the thread that ends it, and queues only the span's bytes.
 *
 * <p>Why: with the SDK's processor, the span objects wait in its queue and its worker reads them
 * back (attribute maps and all) after they have left the CPU's caches and outlived a young
 * collection or two; on a busy stage that was most of what a sampled event's span cost
 * (docs/tracing.md, "Cost"). Encoded at its end, a span is read while it is still in the cache,
 * and is garbage at once.
 *
 * <p>What it does, as the SDK's processor:
 *
 * <ul>
 *   <li>only sampled spans are exported;
 *   <li>a queue of at most {@code OTEL_BSP_MAX_QUEUE_SIZE} spans (2048); a span that finds it full
 *       is dropped;
 *   <li>one thread exports a batch of {@code OTEL_BSP_MAX_EXPORT_BATCH_SIZE} (512) as soon as that
 *       many are queued, and whatever is queued {@code OTEL_BSP_SCHEDULE_DELAY} (5 s) after the
 *       last export (a delay of 0 is taken as 1 ms);
 *   <li>one export at a time, waited for at most {@code OTEL_BSP_EXPORT_TIMEOUT} (30 s) before
 *       the next;
 *   <li>{@link #forceFlush} exports everything queued; {@link #shutdown} does, then closes the
 *       sender; spans that end after shutdown are dropped.
 * </ul>
 *
 * <p>And one thing more: spans dropped because the queue was full are logged, as a WARNING at
 * most every 30 s with their count, so an operator learns that traces have gaps (the SDK only
 * counts them in a metric, which stages do not export).
 *
 * <p>Threading: thread-safe. {@link #onEnd} runs on the thread ending the span and never blocks:
 * each such thread has its own encoder; the queue is the only shared state it touches.
 */
public final class OtlpBatchSpanProcessor implements SpanProcessor {
  private static final Logger LOG = Logger.getLogger(OtlpBatchSpanProcessor.class.getName());

  private final OtlpSender sender;
  private final long scheduleDelayNanos;
  private final int maxQueueSize;
  private final int maxExportBatchSize;
  private final long exportTimeoutNanos;
  private final LongSupplier nanoTime;
  private final ArrayBlockingQueue<EncodedSpan> queue;
  /** Spans queued and not yet taken by the worker: counted to wake it once per full batch. */
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicLong droppedQueueFull = new AtomicLong();
  private final ThreadLocal<OtlpSpanEncoder> encoders = ThreadLocal.withInitial(OtlpSpanEncoder::new);
  /** The worker's: it puts the queued spans in requests. */
  private final OtlpSpanEncoder requestEncoder = new OtlpSpanEncoder();
  private final ConcurrentLinkedQueue<CompletableResultCode> flushes = new ConcurrentLinkedQueue<>();
  private final CompletableResultCode shutdownResult = new CompletableResultCode();
  private final Thread worker;
  private volatile boolean shutdown;
  // The worker's own.
  private long lastQueueWarningNanos;
  private boolean queueWarned;

  /**
   * A processor exporting through {@code sender}, started (its worker thread runs until {@link
   * #shutdown}).
   */
  OtlpBatchSpanProcessor(OtlpSender sender, Duration scheduleDelay, int maxQueueSize, int maxExportBatchSize,
      Duration exportTimeout, LongSupplier nanoTime) {
    if (maxQueueSize <= 0 || maxExportBatchSize <= 0 || scheduleDelay.isNegative() || exportTimeout.isNegative()) {
      throw new IllegalArgumentException("bad batch settings");
    }
    this.sender = sender;
    // A delay of 0 would have the worker spin; a millisecond is as good as none for a collector.
    this.scheduleDelayNanos = Math.max(scheduleDelay.toNanos(), TimeUnit.MILLISECONDS.toNanos(1));
    this.maxQueueSize = maxQueueSize;
    this.maxExportBatchSize = Math.min(maxExportBatchSize, maxQueueSize);
    this.exportTimeoutNanos = exportTimeout.toNanos();
    this.nanoTime = nanoTime;
    this.queue = new ArrayBlockingQueue<>(maxQueueSize);
    this.worker = new Thread(this::work, "sluice-otlp-batch");
    worker.setDaemon(true);
    worker.start();
  }

  /**
   * The processor the {@code OTEL_BSP_*} settings ({@code otel.bsp.*}) and the {@code
   * OTEL_EXPORTER_OTLP_*} ones (see {@link OtlpSettings}) describe.
   *
   * @throws ConfigurationException naming the setting when a value is out of range
   */
  public static OtlpBatchSpanProcessor create(ConfigProperties config) {
    return create(config, () -> OtlpSender.create(OtlpSettings.from(config)));
  }

  /**
   * As {@link #create(ConfigProperties)}, sending through the sender {@code sender} supplies
   * (benchmarks: one that drops what it is given); it is made once the settings are known good.
   */
  public static OtlpBatchSpanProcessor create(ConfigProperties config, Supplier<OtlpSender> sender) {
    Duration delay = config.getDuration("otel.bsp.schedule.delay", Duration.ofMillis(5000));
    int queueSize = config.getInt("otel.bsp.max.queue.size", 2048);
    int batchSize = config.getInt("otel.bsp.max.export.batch.size", 512);
    Duration timeout = config.getDuration("otel.bsp.export.timeout", Duration.ofMillis(30_000));
    if (delay.isNegative()) {
      throw new ConfigurationException("OTEL_BSP_SCHEDULE_DELAY (otel.bsp.schedule.delay) must not be negative, not "
          + delay.toMillis() + " ms");
    }
    if (queueSize <= 0) {
      throw new ConfigurationException(
          "OTEL_BSP_MAX_QUEUE_SIZE (otel.bsp.max.queue.size) must be positive, not " + queueSize);
    }
    if (batchSize <= 0) {
      throw new ConfigurationException(
          "OTEL_BSP_MAX_EXPORT_BATCH_SIZE (otel.bsp.max.export.batch.size) must be positive, not " + batchSize);
    }
    if (timeout.isNegative()) {
      throw new ConfigurationException("OTEL_BSP_EXPORT_TIMEOUT (otel.bsp.export.timeout) must not be negative, not "
          + timeout.toMillis() + " ms");
    }
    if (batchSize > queueSize) {
      LOG.warning("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=" + batchSize + " is more than OTEL_BSP_MAX_QUEUE_SIZE="
          + queueSize + "; exporting batches of " + queueSize);
    }
    return new OtlpBatchSpanProcessor(sender.get(), delay, queueSize, batchSize, timeout, System::nanoTime);
  }

  @Override
  public void onStart(Context parentContext, ReadWriteSpan span) {}

  @Override
  public boolean isStartRequired() {
    return false;
  }

  @Override
  public void onEnd(ReadableSpan span) {
    if (shutdown || !span.getSpanContext().isSampled()) {
      return;
    }
    if (queued.get() >= maxQueueSize) {
      droppedQueueFull.incrementAndGet(); // spare the encoding of a span that has no room
      return;
    }
    EncodedSpan encoded = encoders.get().encodeSpan(span.toSpanData());
    if (!queue.offer(encoded)) {
      droppedQueueFull.incrementAndGet();
      return;
    }
    if (queued.incrementAndGet() == maxExportBatchSize) {
      LockSupport.unpark(worker);
    }
  }

  @Override
  public boolean isEndRequired() {
    return true;
  }

  /** Exports every span queued so far; completes when those exports have been answered. */
  @Override
  public CompletableResultCode forceFlush() {
    if (shutdown) {
      return shutdownResult;
    }
    CompletableResultCode flushed = new CompletableResultCode();
    flushes.add(flushed);
    LockSupport.unpark(worker);
    return flushed;
  }

  /** Exports what is queued, then closes the sender; completes when both are done. */
  @Override
  public CompletableResultCode shutdown() {
    shutdown = true;
    LockSupport.unpark(worker);
    return shutdownResult;
  }

  private void work() {
    long deadline = nanoTime.getAsLong() + scheduleDelayNanos;
    while (true) {
      boolean stopping = shutdown;
      List<CompletableResultCode> flushing = takeFlushes();
      long now = nanoTime.getAsLong();
      boolean ok = true;
      if (stopping || !flushing.isEmpty() || now - deadline >= 0) {
        // Everything queued before the flush (or shutdown, or the scheduled time) goes.
        ok = exportQueued(true);
      } else if (queued.get() >= maxExportBatchSize) {
        exportQueued(false);
      } else {
        warnOfQueueDrops();
        LockSupport.parkNanos(this, deadline - now);
        continue;
      }
      deadline = nanoTime.getAsLong() + scheduleDelayNanos;
      warnOfQueueDrops(); // before a flush completes, so that whoever flushed can read it
      for (CompletableResultCode f : flushing) {
        if (ok) {
          f.succeed();
        } else {
          f.fail();
        }
      }
      if (stopping) {
        break;
      }
    }
    // Spans may still end on other threads; they find shutdown set and are dropped.
    for (CompletableResultCode f : takeFlushes()) {
      f.succeed();
    }
    sender.shutdown().whenComplete(shutdownResult::succeed);
  }

  private List<CompletableResultCode> takeFlushes() {
    List<CompletableResultCode> taken = new ArrayList<>(0);
    for (CompletableResultCode f; (f = flushes.poll()) != null; ) {
      taken.add(f);
    }
    return taken;
  }

  /**
   * Exports the queue in batches: while a full batch is queued, or ({@code all}) until it is empty.
   *
   * @return whether every export succeeded
   */
  private boolean exportQueued(boolean all) {
    boolean ok = true;
    List<EncodedSpan> batch = new ArrayList<>(Math.min(maxExportBatchSize, 1024));
    // When all: what is queued now, not what keeps coming while it is sent.
    int remaining = all ? queue.size() : Integer.MAX_VALUE;
    while (all ? remaining > 0 : queued.get() >= maxExportBatchSize) {
      batch.clear();
      int n = queue.drainTo(batch, Math.min(maxExportBatchSize, remaining));
      queued.addAndGet(-n);
      remaining -= n;
      if (n == 0) {
        break;
      }
      CompletableResultCode sent = sender.send(requestEncoder.encodeRequest(batch));
      // One export at a time, as the SDK's processor: a slow collector fills the queue, which
      // then drops spans, rather than requests piling up in memory.
      sent.join(exportTimeoutNanos, TimeUnit.NANOSECONDS);
      ok &= sent.isSuccess();
    }
    return ok;
  }

  /**
   * Logs spans the full queue dropped: at most once every {@link DropWarnings#INTERVAL}, as the
   * sender's warnings. Not through {@link DropWarnings} itself, which takes a lock and may log on
   * the caller's thread: queue drops happen on the subtask, which only counts them.
   */
  private void warnOfQueueDrops() {
    if (droppedQueueFull.get() == 0) {
      return;
    }
    long now = nanoTime.getAsLong();
    if (queueWarned && now - lastQueueWarningNanos < DropWarnings.INTERVAL.toNanos()) {
      return;
    }
    long dropped = droppedQueueFull.getAndSet(0);
    boolean again = queueWarned;
    queueWarned = true;
    lastQueueWarningNanos = now;
    LOG.log(Level.WARNING, "Dropped " + dropped + " spans" + (again ? " since the last such warning" : "")
        + ": the export queue (OTEL_BSP_MAX_QUEUE_SIZE=" + maxQueueSize + ") was full, because spans end faster"
        + " than " + sender + " takes them. Sample fewer events at the source, or raise the queue size for"
        + " bursts (at most one such warning every " + DropWarnings.INTERVAL.toSeconds() + " s)");
  }

  @Override
  public String toString() {
    return "OtlpBatchSpanProcessor{" + sender + ", maxQueueSize=" + maxQueueSize + ", maxExportBatchSize="
        + maxExportBatchSize + "}";
  }
}
