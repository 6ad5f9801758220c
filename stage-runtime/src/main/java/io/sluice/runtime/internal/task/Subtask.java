package io.sluice.runtime.internal.task;

import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.Watermark;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
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
  private long watermark = Long.MIN_VALUE;
  // Token bucket for maxRate: may go into debt by one batch; not ready while negative.
  private double tokens;
  private long tokensAt;

  public Subtask(
      String instanceId,
      Mailbox mailbox,
      OperatorRunner<?, ?, ?, ?> runner,
      OutputRouter router,
      TaskMetrics metrics,
      Listener listener,
      boolean source,
      ItemHandler itemHandler,
      double maxRatePerSecond) {
    this.instanceId = instanceId;
    this.mailbox = mailbox;
    this.runner = runner;
    this.router = router;
    this.metrics = metrics;
    this.listener = listener;
    this.source = source;
    this.itemHandler = itemHandler;
    this.maxRatePerSecond = maxRatePerSecond;
  }

  public Mailbox mailbox() {
    return mailbox;
  }

  /** Attaches a newly opened input channel. Any thread. */
  public void attach(InputChannel channel, ChannelOpen open) {
    mailbox.execute(() -> {
      inputs.add(channel);
      info.put(channel, new ChannelInfo(channel, open.getFromInstance()));
      LOG.fine(instanceId + ": input " + channel.name() + " opened");
    });
  }

  /** Applies routes. Any thread. */
  public void applyRoutes(RouteUpdate update) {
    mailbox.execute(() -> {
      router.apply(update);
      expectedInputs = Set.copyOf(update.getInputsList());
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
      setState(SubtaskState.RUNNING, "started");
      tokensAt = mailbox.nanoTime();
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
        setState(SubtaskState.STOPPED, stopReason);
        return;
      }
      mailbox.runPending();
      long now = mailbox.nanoTime();
      router.flushDue(now);
      reapChannels();

      if (state == SubtaskState.RUNNING && inputsDone()) {
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

      boolean outputReady = router.isReady() && runner.operatorReady();
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
      if (c.hasItems() && !info.get(c).ended) {
        next = k + 1;
        return c;
      }
    }
    return null;
  }

  private void handle(InputChannel ch, Object item) {
    if (item instanceof io.sluice.runtime.internal.exchange.InboundBatch batch) {
      ChannelInfo ci = info.get(ch);
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
    }
  }

  private void handleFrame(InputChannel ch, Frame frame) {
    ChannelInfo ci = info.get(ch);
    switch (frame.getKindCase()) {
      case BATCH -> {
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
      case WATERMARK -> onWatermark(ci, frame.getWatermark());
      case BARRIER -> router.broadcast(frame); // aligned checkpoints come with exactly-once
      case END -> {
        ci.ended = true;
        endedChannels.add(ci);
        LOG.fine(instanceId + ": input " + ch.name() + " ended after " + ci.events + " events");
        if (!hasOpenChannelFrom(ci.fromInstance)) {
          endedInputs.add(ci.fromInstance);
        }
      }
      default -> LOG.warning(instanceId + ": unexpected frame " + frame.getKindCase() + " on " + ch.name());
    }
  }

  /** Counts events against maxRate (sources call this through their handler too). */
  public void consumeTokens(int n) {
    if (maxRatePerSecond > 0) {
      tokens -= n;
    }
  }

  private void onWatermark(ChannelInfo ci, Watermark w) {
    ci.watermark = Math.max(ci.watermark, w.getTimestamp());
    ci.idle = w.getIdle();
    long min = Long.MAX_VALUE;
    boolean any = false;
    for (ChannelInfo c : info.values()) {
      if (!c.idle && !c.ended) {
        min = Math.min(min, c.watermark);
        any = true;
      }
    }
    if (any && min > watermark && min != Long.MIN_VALUE) {
      watermark = min;
      router.broadcast(Frame.newBuilder().setWatermark(Watermark.newBuilder().setTimestamp(min)).build());
    }
  }

  public long watermark() {
    return watermark;
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
        if (failure != null && !ci.ended && !source) {
          LOG.warning(instanceId + ": input " + c.name() + " broke after " + ci.events
              + " events: " + failure.getMessage());
        }
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
    boolean idle;
    long watermark = Long.MIN_VALUE;

    ChannelInfo(InputChannel channel, String fromInstance) {
      this.channel = channel;
      this.fromInstance = fromInstance;
    }
  }
}
