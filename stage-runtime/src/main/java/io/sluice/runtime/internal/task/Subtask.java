package io.sluice.runtime.internal.task;

import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.Watermark;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
import io.sluice.runtime.internal.source.WatermarkSettings;
import io.sluice.runtime.internal.state.StateCollector;
import io.sluice.proto.v1.Barrier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One subtask: a single thread that takes frames from its bounded input channels, runs the
 * operator on them and hands the results to the output router. It takes the next input only while
 * every output channel is ready, so a slow consumer stops it, its inbox fills, no more credits are
 * granted upstream and the upstream's HTTP/2 window closes.
 *
 * <p>Ending: a subtask ends when every upstream instance it expects has sent EndOfStream on all of
 * its channels (or, for a source, when it is drained). It then closes the operator, sends
 * EndOfStream on every output, waits until every downstream acknowledged, and only then
 * acknowledges the ends of its own inputs: an acknowledgement means everything reached the sinks.
 *
 * <p>Threading: one owner thread; other threads talk to it only through {@link #mailbox()}.
 */
public final class Subtask implements Runnable {
  private static final Logger LOG = Logger.getLogger(Subtask.class.getName());
  private static final long MAX_PARK_NANOS = 50_000_000L;

  /** Hears about the subtask's end; called on the subtask thread. */
  public interface Listener {
    void stateChanged(SubtaskState state, String reason);
  }

  /** Handles items that are not frames (a source's client requests). */
  public interface ItemHandler {
    /** Processes one item from a channel; emit through the router. */
    void handle(InputChannel channel, Object item, RawOperator.Emitter out);

    /** The channel's transport ended or failed; after this it is removed. */
    default void channelClosed(InputChannel channel, Throwable failure) {}

    /** The subtask is draining: stop intake. */
    default void drain() {}

    /** The highest event time a source emitted so far; MIN_VALUE before any. */
    default long maxEventTime() {
      return Long.MIN_VALUE;
    }

    /** A source's part of checkpoint n: its positions, taken before barrier n is emitted. */
    default void snapshot(long checkpointId, StateCollector<?> state) {}

    /** Checkpoint n completed everywhere (an ingest acks producers up to its positions in n). */
    default void checkpointComplete(long checkpointId) {}
  }

  /**
   * Where the subtask's snapshots go: the instance writes them asynchronously and acks to the
   * coordinator. Null when the pipeline does not checkpoint.
   */
  public interface Checkpoints {
    /** True for aligned barriers; false for at-least-once (no channel is held). */
    boolean exactlyOnce();

    /** The number of key groups state is split into. */
    int maxParallelism();

    /**
     * The snapshot of checkpoint n is collected and barrier n forwarded; write and ack it. Called
     * on the subtask thread; must not block.
     */
    void snapshotTaken(long checkpointId, boolean savepoint, StateCollector<?> state,
        long alignmentNanos, long syncNanos);
  }

  private final String instanceId;
  private final Mailbox mailbox;
  private final OperatorRunner<?, ?, ?, ?> runner;
  private final OutputRouter router;
  private final TaskMetrics metrics;
  private final Listener listener;
  private final boolean source;
  private final ItemHandler itemHandler;
  private double maxRatePerSecond;

  private volatile SubtaskState state = SubtaskState.CREATED;
  private final List<InputChannel> inputs = new ArrayList<>();
  private final Map<InputChannel, ChannelInfo> info = new HashMap<>();
  private final List<ChannelInfo> endedChannels = new ArrayList<>();
  private Set<String> expectedInputs = Set.of();
  private final Set<String> endedInputs = new HashSet<>();
  private int next;
  private boolean draining;
  private volatile boolean stopRequested;
  private String stopReason = "";
  // Event time: the inputs' watermarks (or, for a source, what it generates) and this subtask's.
  private final InputWatermarks inputWatermarks = new InputWatermarks();
  private final WatermarkSettings sourceWatermarks;
  private volatile long watermark = Long.MIN_VALUE;
  private volatile boolean idle;
  // What was passed downstream: the watermark, or less while the operator holds it back.
  private long forwarded = Long.MIN_VALUE;
  private boolean endWatermarkSent;
  private long lastActivityNanos;
  private volatile long slowestSourceWatermark = Long.MIN_VALUE;
  // Token bucket for maxRate: may go into debt by one batch; not ready while negative.
  private double tokens;
  private long tokensAt;
  // Checkpoints (null: off). Alignment: the checkpoint being aligned and the channels that
  // delivered its barrier (held back in exactly-once mode until every channel has).
  private Checkpoints checkpoints;
  private Runnable restore;
  private Barrier aligning;
  private final Set<InputChannel> barrierSeen = new HashSet<>();
  private long alignStartNanos;
  private boolean snapshotDue; // aligned; waiting for the operator's asynchronous work to finish
  private long lastSnapshotId;

  public Subtask(
      String instanceId,
      Mailbox mailbox,
      OperatorRunner<?, ?, ?, ?> runner,
      OutputRouter router,
      TaskMetrics metrics,
      Listener listener,
      boolean source,
      ItemHandler itemHandler,
      double maxRatePerSecond,
      WatermarkSettings sourceWatermarks) {
    this.instanceId = instanceId;
    this.mailbox = mailbox;
    this.runner = runner;
    this.router = router;
    this.metrics = metrics;
    this.listener = listener;
    this.source = source;
    this.itemHandler = itemHandler;
    this.maxRatePerSecond = maxRatePerSecond;
    this.sourceWatermarks = source ? sourceWatermarks : null;
  }

  public String instanceId() {
    return instanceId;
  }

  public Mailbox mailbox() {
    return mailbox;
  }

  /** Turns checkpoints on; call before the subtask runs. */
  public void checkpoints(Checkpoints checkpoints) {
    this.checkpoints = checkpoints;
  }

  /** Restores state on the subtask thread after the operator's init, before any input. */
  public void restoreBeforeStart(Runnable restore) {
    this.restore = restore;
  }

  /**
   * A source starts checkpoint n: takes its snapshot, then emits barrier n on every output after
   * the data before it. Any thread.
   */
  public void triggerCheckpoint(long checkpointId, long timestamp, boolean savepoint) {
    mailbox.execute(() -> {
      if (state != SubtaskState.RUNNING || checkpoints == null || checkpointId <= lastSnapshotId) {
        return;
      }
      aligning = Barrier.newBuilder().setCheckpointId(checkpointId).setTimestamp(timestamp)
          .setSavepoint(savepoint).build();
      alignStartNanos = mailbox.nanoTime();
      snapshotDue = true;
      trySnapshot();
    });
  }

  /** Checkpoint n completed everywhere. Any thread. */
  public void checkpointComplete(long checkpointId) {
    mailbox.execute(() -> {
      if (state == SubtaskState.STOPPED) {
        return;
      }
      runner.checkpointComplete(checkpointId);
      if (itemHandler != null) {
        itemHandler.checkpointComplete(checkpointId);
      }
    });
  }

  /** Checkpoint n was aborted: stop aligning for it. Any thread. */
  public void abortCheckpoint(long checkpointId, String reason) {
    mailbox.execute(() -> {
      if (aligning != null && aligning.getCheckpointId() == checkpointId) {
        LOG.info(instanceId + ": checkpoint " + checkpointId + " aborted (" + reason + ")");
        endAlignment();
      }
    });
  }

  /** Attaches a newly opened input channel. Any thread. */
  public void attach(InputChannel channel, ChannelOpen open) {
    mailbox.execute(() -> {
      inputs.add(channel);
      info.put(channel, new ChannelInfo(channel, open.getFromInstance()));
      if (!source) {
        inputWatermarks.opened(open.getFromInstance());
      }
      LOG.fine(instanceId + ": input " + channel.name() + " opened");
    });
  }

  /** Applies routes. Any thread. */
  public void applyRoutes(RouteUpdate update) {
    mailbox.execute(() -> {
      router.apply(update);
      expectedInputs = Set.copyOf(update.getInputsList());
      if (!source) {
        inputWatermarks.expect(expectedInputs);
        inputWatermarksChanged();
      }
    });
  }

  /** Drains: a source stops intake and ends; others end when their inputs do. Any thread. */
  public void drain(String reason) {
    mailbox.execute(() -> {
      if (source && !draining) {
        LOG.info(instanceId + ": draining (" + reason + ")");
        draining = true;
        if (itemHandler != null) {
          itemHandler.drain();
        }
      }
    });
  }

  /** Changes the input rate cap (events/s, 0 = none), live. Any thread. */
  public void setMaxRate(double eventsPerSecond) {
    mailbox.execute(() -> {
      LOG.info(instanceId + ": max rate " + (eventsPerSecond > 0 ? eventsPerSecond + " events/s" : "removed"));
      maxRatePerSecond = eventsPerSecond;
      tokens = Math.min(tokens, eventsPerSecond);
      if (eventsPerSecond <= 0) {
        tokens = 0;
      }
    });
  }

  /**
   * The slowest source's watermark, from the coordinator: with {@code watermark.maxDrift} set, a
   * source takes no input while it is more than that ahead. Any thread.
   */
  public void alignTo(long slowestSourceWatermark) {
    this.slowestSourceWatermark = slowestSourceWatermark;
    mailbox.wakeup();
  }

  /** Stops without draining. Any thread. */
  public void stop(String reason) {
    stopReason = reason;
    stopRequested = true;
    mailbox.wakeup();
  }

  @Override
  public void run() {
    mailbox.bindToCurrentThread();
    try {
      runner.init();
      if (restore != null) {
        restore.run();
      }
      setState(SubtaskState.RUNNING, "started");
      tokensAt = mailbox.nanoTime();
      lastActivityNanos = tokensAt;
      if (sourceWatermarks != null && sourceWatermarks.intervalMillis() > 0) {
        schedulePeriodicWatermark();
      }
      loop();
    } catch (RuntimeException | Error e) {
      LOG.log(Level.SEVERE, instanceId + ": subtask failed", e);
      if (state != SubtaskState.STOPPED) {
        setState(SubtaskState.STOPPED, "failed: " + e);
      }
    }
  }

  private void loop() {
    long mark = mailbox.nanoTime();
    while (true) {
      if (stopRequested) {
        runner.dispose();
        setState(SubtaskState.STOPPED, stopReason);
        return;
      }
      mailbox.runPending();
      if (snapshotDue) {
        trySnapshot();
      }
      if (forwarded < watermark) {
        forwardWatermark(); // the operator's hold may have risen
      }
      long now = mailbox.nanoTime();
      // Busy time is credited as it passes, not only when the loop parks: a saturated subtask may
      // not park for seconds, and its busy counter must still grow every second (one volatile
      // write per frame, not per event).
      metrics.busy(now - mark);
      mark = now;
      router.flushDue(now);
      reapChannels();

      if (state == SubtaskState.RUNNING && inputsDone()) {
        if (!endWatermarkSent) {
          // Every input ended: no event will come, so every event-time timer may fire (Flink
          // does the same at the end of bounded input).
          endWatermarkSent = true;
          advanceWatermark(Long.MAX_VALUE);
        }
        if (runner.hasPendingWork()) {
          mailbox.await(MAX_PARK_NANOS); // asynchronous work comes back through the mailbox
          continue;
        }
        beginClosing();
      }
      if (state == SubtaskState.CLOSING) {
        if (router.allEndsDone()) {
          finish();
          return;
        }
        mailbox.await(MAX_PARK_NANOS);
        continue;
      }

      boolean outputReady = router.isReady() && runner.operatorReady() && !aheadOfSlowestSource();
      long throttleWait = outputReady ? throttleWaitNanos(now) : 0;
      if (!outputReady || throttleWait > 0) {
        // Backpressured (or held by maxRate, which counts as busy: the stage is at its limit).
        int depth = inboxDepth();
        metrics.inboxDepth(depth);
        long t0 = mailbox.nanoTime();
        metrics.busy(t0 - mark);
        mailbox.await(Math.min(MAX_PARK_NANOS, throttleWait > 0 ? throttleWait : untilDeadline(now)));
        long t1 = mailbox.nanoTime();
        if (throttleWait > 0) {
          metrics.busy(t1 - t0);
        } else if (depth > 0) {
          metrics.backpressured(t1 - t0);
        } else {
          metrics.idle(t1 - t0);
        }
        mark = t1;
        continue;
      }

      InputChannel ch = nextWithItems();
      if (ch == null) {
        metrics.inboxDepth(0);
        long t0 = mailbox.nanoTime();
        metrics.busy(t0 - mark);
        mailbox.await(Math.min(MAX_PARK_NANOS, untilDeadline(t0)));
        mark = mailbox.nanoTime();
        metrics.idle(mark - t0);
        continue;
      }
      Object item = ch.poll();
      handle(ch, item);
      if (!draining || !source) {
        ch.release();
      }
    }
  }

  private long untilDeadline(long now) {
    long d = router.nextDeadlineNanos();
    return d == Long.MAX_VALUE ? MAX_PARK_NANOS : Math.max(1, d - now);
  }

  private long throttleWaitNanos(long now) {
    if (maxRatePerSecond <= 0) {
      return 0;
    }
    tokens = Math.min(maxRatePerSecond, tokens + (now - tokensAt) * maxRatePerSecond / 1e9);
    tokensAt = now;
    return tokens >= 0 ? 0 : (long) (-tokens / maxRatePerSecond * 1e9) + 1;
  }

  private int inboxDepth() {
    int d = 0;
    for (InputChannel c : inputs) {
      d += c.depth();
    }
    return d;
  }

  private InputChannel nextWithItems() {
    int n = inputs.size();
    for (int i = 0; i < n; i++) {
      int k = (next + i) % n;
      InputChannel c = inputs.get(k);
      if (c.hasItems() && !info.get(c).ended && !held(c)) {
        next = k + 1;
        return c;
      }
    }
    return null;
  }

  private void handle(InputChannel ch, Object item) {
    if (item instanceof io.sluice.runtime.internal.exchange.InboundBatch batch) {
      ChannelInfo ci = info.get(ch);
      if (inputWatermarks.data(ci.fromInstance)) {
        inputWatermarksChanged();
      }
      int n = batch.size();
      runner.process(batch);
      runner.endOfBatch();
      ci.events += n;
      metrics.received(n);
      consumeTokens(n);
    } else if (item instanceof Frame frame) {
      handleFrame(ch, frame);
    } else {
      itemHandler.handle(ch, item, router);
      runner.endOfBatch();
      lastActivityNanos = mailbox.nanoTime();
      if (sourceWatermarks != null && sourceWatermarks.intervalMillis() == 0) {
        sourceWatermarkTick();
      }
    }
  }

  private void handleFrame(InputChannel ch, Frame frame) {
    ChannelInfo ci = info.get(ch);
    switch (frame.getKindCase()) {
      case BATCH -> {
        if (inputWatermarks.data(ci.fromInstance)) {
          inputWatermarksChanged();
        }
        EventBatch batch = frame.getBatch();
        int n = batch.getEventsCount();
        for (int i = 0; i < n; i++) {
          Event e = batch.getEvents(i);
          runner.process(e);
        }
        runner.endOfBatch();
        ci.events += n;
        metrics.received(n);
        consumeTokens(n);
      }
      case WATERMARK -> {
        Watermark w = frame.getWatermark();
        inputWatermarks.watermark(ci.fromInstance, w.getTimestamp(), w.getIdle());
        inputWatermarksChanged();
      }
      case BARRIER -> barrier(ch, frame.getBarrier());
      case END -> {
        ci.ended = true;
        endedChannels.add(ci);
        LOG.fine(instanceId + ": input " + ch.name() + " ended after " + ci.events + " events");
        if (!hasOpenChannelFrom(ci.fromInstance)) {
          endedInputs.add(ci.fromInstance);
        }
        inputWatermarks.closed(ci.fromInstance, true);
        inputWatermarksChanged();
        checkAligned();
      }
      default -> LOG.warning(instanceId + ": unexpected frame " + frame.getKindCase() + " on " + ch.name());
    }
  }

  // ---------------------------------------------------------------- checkpoints

  /** True while a channel must not be read: it delivered the barrier being aligned, or a snapshot waits. */
  private boolean held(InputChannel c) {
    if (snapshotDue) {
      return true;
    }
    return aligning != null && checkpoints.exactlyOnce() && barrierSeen.contains(c);
  }

  private void barrier(InputChannel ch, Barrier b) {
    if (checkpoints == null) {
      router.broadcast(Frame.newBuilder().setBarrier(b).build()); // nothing to align: pass it on
      return;
    }
    long id = b.getCheckpointId();
    if (id <= lastSnapshotId || (aligning != null && id < aligning.getCheckpointId())) {
      return; // a barrier of a checkpoint already taken, or given up for a newer one
    }
    if (aligning == null || id > aligning.getCheckpointId()) {
      if (aligning != null) {
        LOG.info(instanceId + ": checkpoint " + aligning.getCheckpointId() + " subsumed by " + id);
        endAlignment();
      }
      aligning = b;
      alignStartNanos = mailbox.nanoTime();
    }
    barrierSeen.add(ch);
    checkAligned();
  }

  /**
   * Aligned when every input channel delivered the barrier or ended, and every upstream instance
   * the routes name has a channel (one that connects later carries only data after the barrier).
   */
  private void checkAligned() {
    if (aligning == null || snapshotDue || source) {
      return;
    }
    for (ChannelInfo c : info.values()) {
      if (!c.ended && !barrierSeen.contains(c.channel)) {
        return;
      }
    }
    for (String upstream : expectedInputs) {
      if (!endedInputs.contains(upstream) && !hasChannelFrom(upstream)) {
        return;
      }
    }
    snapshotDue = true;
    trySnapshot();
  }

  /** Takes the snapshot once the operator's asynchronous work is done; forwards the barrier. */
  private void trySnapshot() {
    if (runner.hasPendingWork()) {
      return; // completions come back through the mailbox; the loop asks again
    }
    Barrier b = aligning;
    long t0 = mailbox.nanoTime();
    StateCollector<?> state = runner.snapshot(b.getCheckpointId(), b.getSavepoint(), checkpoints.maxParallelism());
    if (itemHandler != null) {
      itemHandler.snapshot(b.getCheckpointId(), state);
    }
    long t1 = mailbox.nanoTime();
    router.broadcast(Frame.newBuilder().setBarrier(b).build());
    lastSnapshotId = b.getCheckpointId();
    checkpoints.snapshotTaken(b.getCheckpointId(), b.getSavepoint(), state, t0 - alignStartNanos, t1 - t0);
    endAlignment();
  }

  private void endAlignment() {
    aligning = null;
    snapshotDue = false;
    barrierSeen.clear();
    mailbox.wakeup();
  }

  /** Counts events against maxRate (sources call this through their handler too). */
  public void consumeTokens(int n) {
    if (maxRatePerSecond > 0) {
      tokens -= n;
    }
  }

  /** Recomputes the minimum over the inputs and passes on what changed. */
  private void inputWatermarksChanged() {
    boolean allIdle = inputWatermarks.allIdle();
    updateWatermark(allIdle, allIdle ? watermark : inputWatermarks.minimum());
  }

  /**
   * For sources and operators alike: becomes idle (telling downstream once), or becomes active
   * again (telling downstream even when the watermark stays where it was) and moves to {@code
   * candidate} if that is ahead.
   */
  private void updateWatermark(boolean nowIdle, long candidate) {
    if (nowIdle) {
      if (!idle) {
        idle = true;
        LOG.fine(instanceId + ": idle");
        router.broadcastWatermark(forwarded, true);
      }
      return;
    }
    if (idle) {
      idle = false;
      if (candidate <= watermark) {
        router.broadcastWatermark(forwarded, false); // active again, at the same watermark
      }
    }
    advanceWatermark(candidate);
  }

  /**
   * Moves this subtask's watermark: the operator fires its event-time timers first, so what they
   * emit travels ahead of the watermark on every output.
   */
  private void advanceWatermark(long newWatermark) {
    if (newWatermark <= watermark) {
      return;
    }
    runner.advanceWatermark(newWatermark);
    watermark = newWatermark;
    forwardWatermark();
  }

  /** Passes the watermark downstream, up to just below the operator's hold. */
  private void forwardWatermark() {
    long hold = runner.watermarkHold();
    long out = hold == Long.MAX_VALUE ? watermark : Math.min(watermark, hold - 1);
    if (out > forwarded) {
      forwarded = out;
      router.broadcastWatermark(out, false);
    }
  }

  /** A source's watermark: from the highest event time it emitted, and idle after the timeout. */
  private void sourceWatermarkTick() {
    long now = mailbox.nanoTime();
    long idleTimeout = sourceWatermarks.idleTimeoutMillis();
    // Quiet: nothing taken for the timeout and nothing waiting (a backpressured source is not idle).
    boolean quiet = idleTimeout > 0 && now - lastActivityNanos >= idleTimeout * 1_000_000L
        && inboxDepth() == 0;
    updateWatermark(quiet, sourceWatermarks.watermarkFor(itemHandler.maxEventTime()));
  }

  private void schedulePeriodicWatermark() {
    long period = sourceWatermarks.intervalMillis() * 1_000_000L;
    mailbox.schedule(mailbox.nanoTime() + period, () -> {
      if (state == SubtaskState.RUNNING) {
        sourceWatermarkTick();
        schedulePeriodicWatermark();
      }
    });
  }

  /** Source alignment: true while this source is more than maxDrift ahead of the slowest one. */
  private boolean aheadOfSlowestSource() {
    if (sourceWatermarks == null || sourceWatermarks.maxDriftMillis() <= 0) {
      return false;
    }
    long slowest = slowestSourceWatermark;
    return slowest != Long.MIN_VALUE && watermark != Long.MIN_VALUE
        && watermark - slowest > sourceWatermarks.maxDriftMillis();
  }

  /** True while every input is idle (for a source: no input for its idle timeout). Any thread. */
  public boolean idle() {
    return idle;
  }

  public long watermark() {
    return watermark;
  }

  private boolean hasChannelFrom(String fromInstance) {
    for (ChannelInfo c : info.values()) {
      if (c.fromInstance.equals(fromInstance)) {
        return true;
      }
    }
    return false;
  }

  private boolean hasOpenChannelFrom(String fromInstance) {
    for (ChannelInfo c : info.values()) {
      if (c.fromInstance.equals(fromInstance) && !c.ended) {
        return true;
      }
    }
    return false;
  }

  private void reapChannels() {
    for (int i = inputs.size() - 1; i >= 0; i--) {
      InputChannel c = inputs.get(i);
      ChannelInfo ci = info.get(c);
      Throwable failure = c.failureAfterDrain();
      boolean drainedSource = source && draining && !c.hasItems();
      if (failure != null || drainedSource) {
        inputs.remove(i);
        info.remove(c);
        if (itemHandler != null) {
          itemHandler.channelClosed(c, failure);
        }
        if (!source && !ci.ended) {
          inputWatermarks.closed(ci.fromInstance, false);
        }
        if (failure != null && !ci.ended && !source) {
          LOG.warning(instanceId + ": input " + c.name() + " broke after " + ci.events
              + " events: " + failure.getMessage());
        }
        barrierSeen.remove(c);
      }
    }
  }

  private boolean inputsDone() {
    if (source) {
      return draining && inputs.isEmpty() && router.routed();
    }
    if (!router.routed() || expectedInputs.isEmpty()) {
      return false;
    }
    for (ChannelInfo c : info.values()) {
      if (!c.ended) {
        return false;
      }
    }
    return endedInputs.containsAll(expectedInputs);
  }

  private void beginClosing() {
    runner.close();
    router.endAll("input ended");
    setState(SubtaskState.CLOSING, "inputs ended");
  }

  private void finish() {
    for (ChannelInfo c : endedChannels) {
      c.channel.acknowledgeEnd(c.events);
    }
    List<String> unconfirmed = router.unacknowledgedEnds();
    setState(SubtaskState.FINISHED,
        unconfirmed.isEmpty() ? "every output acknowledged its end"
            : "outputs failed before acknowledging their end: " + unconfirmed);
  }

  private void setState(SubtaskState target, String reason) {
    state = state.to(target);
    LOG.info(instanceId + ": " + target + " (" + reason + ")");
    listener.stateChanged(target, reason);
  }

  public SubtaskState state() {
    return state;
  }

  private static final class ChannelInfo {
    final InputChannel channel;
    final String fromInstance;
    long events;
    boolean ended;

    ChannelInfo(InputChannel channel, String fromInstance) {
      this.channel = channel;
      this.fromInstance = fromInstance;
    }
  }
}
