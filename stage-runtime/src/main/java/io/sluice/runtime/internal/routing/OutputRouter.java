package io.sluice.runtime.internal.routing;

import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.OutputRoute;
import io.sluice.proto.v1.Partitioning;
import io.sluice.proto.v1.RouteTarget;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.runtime.internal.exchange.ChannelPool;
import io.sluice.runtime.internal.exchange.ExchangeSettings;
import io.sluice.runtime.internal.exchange.OutputChannel;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.task.Mailbox;
import io.sluice.runtime.partition.KeyGroups;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Where a subtask's output goes: the coordinator's routes turned into partitioners over output
 * channels. Routes are applied live: channels to new targets are opened, channels to targets that
 * left are ended after a flush, and hash ranges are re-split.
 *
 * <p>Threading: confined to the subtask thread.
 */
public final class OutputRouter implements io.sluice.runtime.internal.task.RawOperator.Emitter {
  private static final Logger LOG = Logger.getLogger(OutputRouter.class.getName());
  private static final long RETRY_NANOS = 1_000_000_000L;

  private final String pipeline;
  private final String stage;
  private final String instanceId;
  private final int instanceIndex;
  private final ExchangeSettings settings;
  private final Mailbox mailbox;
  private final TaskMetrics metrics;
  private final ChannelPool pool;

  private List<Route> routes = List.of();
  private final Map<String, OutputChannel> channels = new HashMap<>();
  private final List<OutputChannel> retiring = new ArrayList<>();
  private final Map<String, Long> retryAt = new HashMap<>();
  private long routeVersion = -1;
  private boolean routed;
  private boolean ending;
  private long unroutedDrops;

  private Frame lastWatermark;
  private long epoch;

  public OutputRouter(
      String pipeline,
      String stage,
      String instanceId,
      int instanceIndex,
      ExchangeSettings settings,
      Mailbox mailbox,
      TaskMetrics metrics,
      ChannelPool pool) {
    this.pipeline = pipeline;
    this.stage = stage;
    this.instanceId = instanceId;
    this.instanceIndex = instanceIndex;
    this.settings = settings;
    this.mailbox = mailbox;
    this.metrics = metrics;
    this.pool = pool;
  }

  /**
   * The restore epoch this instance runs at (0 without checkpoints): channels open with it, and
   * routes of another epoch are ignored. Set before the first routes.
   */
  public void epoch(long epoch) {
    this.epoch = epoch;
  }

  /** Applies a route update; older versions than the current one are ignored. */
  public void apply(RouteUpdate update) {
    if (update.getVersion() <= routeVersion) {
      return;
    }
    if (update.getEpoch() != epoch) {
      LOG.info(instanceId + ": ignoring routes of epoch " + update.getEpoch() + " (running at " + epoch + ")");
      return;
    }
    routeVersion = update.getVersion();
    Map<String, OutputChannel> keep = new HashMap<>();
    List<Route> next = new ArrayList<>();
    for (OutputRoute r : update.getOutputsList()) {
      OutputChannel[] targets = new OutputChannel[r.getTargetsCount()];
      int[] targetIndexes = new int[r.getTargetsCount()];
      for (int i = 0; i < r.getTargetsCount(); i++) {
        RouteTarget t = r.getTargets(i);
        String key = channelKey(r, t);
        OutputChannel ch = channels.get(key);
        if (ch == null) {
          ch = keep.get(key);
        }
        if (ch == null) {
          ch = open(r.getOutput(), t);
          if (ending) {
            // Routes changed while we are ending: the new target gets its end at once, else
            // allEndsDone() would wait for a channel nobody ends.
            ch.end("input ended");
          }
        }
        keep.put(key, ch);
        targets[i] = ch;
        targetIndexes[i] = t.getIndex();
      }
      next.add(new Route(r, targets, targetIndexes));
    }
    for (Map.Entry<String, OutputChannel> e : channels.entrySet()) {
      if (!keep.containsKey(e.getKey())) {
        OutputChannel gone = e.getValue();
        if (gone.failure() == null) {
          LOG.info(instanceId + ": route to " + gone.targetInstance() + " removed; ending its channel");
          gone.end("route removed");
          retiring.add(gone);
        } else {
          gone.cancel("route removed");
        }
        // Its retry deadline goes too, or nextDeadlineNanos() would stay in the past forever.
        retryAt.remove(e.getKey());
      }
    }
    channels.clear();
    channels.putAll(keep);
    routes = next;
    routed = true;
    mailbox.wakeup();
  }

  private static String channelKey(OutputRoute r, RouteTarget t) {
    return r.getOutput() + "|" + r.getToStage() + "|" + t.getInstanceId() + "@"
        + t.getEndpoint().getHost() + ":" + t.getEndpoint().getPort();
  }

  private OutputChannel open(String output, RouteTarget t) {
    OutputChannel ch =
        new OutputChannel(
            ChannelOpen.newBuilder()
                .setPipeline(pipeline)
                .setFromStage(stage)
                .setFromInstance(instanceId)
                .setToInstance(t.getInstanceId())
                .setOutput(output)
                .setEpoch(epoch)
                .build(),
            settings,
            mailbox,
            metrics);
    ch.start(pool.get(t.getEndpoint()));
    if (lastWatermark != null) {
      ch.sendControl(lastWatermark);
    }
    return ch;
  }

  /** True once the first routes arrived. */
  public boolean routed() {
    return routed;
  }

  /**
   * True when every output has all its expected targets and every channel can take more. The
   * subtask takes no input while this is false.
   */
  public boolean isReady() {
    if (!routed) {
      return false;
    }
    for (Route r : routes) {
      if (!r.ready()) {
        return false;
      }
    }
    return true;
  }

  /** Why the router is not ready, for logs and status. */
  public String notReadyReason() {
    if (!routed) {
      return "waiting for routes";
    }
    for (Route r : routes) {
      if (r.targets.length < r.route.getExpectedParallelism()) {
        return "waiting for " + r.route.getToStage() + ": " + r.targets.length + " of "
            + r.route.getExpectedParallelism() + " instances registered";
      }
      for (OutputChannel c : r.targets) {
        if (c.failure() != null) {
          return c.name() + " failed: " + c.failure().getMessage();
        }
        if (!c.isReady()) {
          return c.name() + " is backpressured";
        }
      }
    }
    return "ready";
  }

  /** Sends a serialized event, as it is, to every route of the given output. */
  @Override
  public void emitRaw(String output, com.google.protobuf.ByteString event) {
    boolean any = false;
    for (Route r : routes) {
      if (r.route.getOutput().equals(output)) {
        r.emitRaw(event);
        any = true;
      }
    }
    if (!any && !output.isEmpty()) {
      unrouted(output);
    }
  }

  /** Sends an event to every route of the given output ("" = main). */
  @Override
  public void emit(String output, Event event) {
    boolean any = false;
    for (Route r : routes) {
      if (r.route.getOutput().equals(output)) {
        r.emit(event);
        any = true;
      }
    }
    if (!any && !output.isEmpty()) {
      unrouted(output);
    }
  }

  /** A side output nobody reads (e.g. dead letters without a consumer): counted and logged, not sent. */
  private void unrouted(String output) {
    if (unroutedDrops++ % 10_000 == 0) {
      LOG.warning(instanceId + ": output '" + output + "' has no consumer in the pipeline; "
          + unroutedDrops + " event(s) not delivered so far (read it with from: {stage: "
          + stage + ", output: " + output + "})");
    }
  }

  /** Whether any route reads the given output. */
  public boolean hasConsumer(String output) {
    for (Route r : routes) {
      if (r.route.getOutput().equals(output)) {
        return true;
      }
    }
    return false;
  }

  /** Sends batches whose linger expired, and retries failed channels. */
  public void flushDue(long nowNanos) {
    for (OutputChannel c : channels.values()) {
      if (c.lingerDeadlineNanos() <= nowNanos) {
        c.flush();
      }
    }
    if (!ending) {
      retryFailed(nowNanos);
    }
  }

  /** The earliest linger deadline, or Long.MAX_VALUE. */
  public long nextDeadlineNanos() {
    long d = Long.MAX_VALUE;
    for (OutputChannel c : channels.values()) {
      d = Math.min(d, c.lingerDeadlineNanos());
    }
    if (!retryAt.isEmpty()) {
      for (long t : retryAt.values()) {
        d = Math.min(d, t);
      }
    }
    return d;
  }

  /** Flushes every channel. */
  public void flushAll() {
    for (OutputChannel c : channels.values()) {
      c.flush();
    }
  }

  /** Sends a control frame (watermark, barrier) on every channel, after flushing. */
  /**
   * Sends the subtask's watermark to every output channel, after the data before it; a channel
   * opened later gets the latest one first, so a new downstream instance is not held back.
   */
  public void broadcastWatermark(long timestamp, boolean idle) {
    lastWatermark = Frame.newBuilder()
        .setWatermark(io.sluice.proto.v1.Watermark.newBuilder().setTimestamp(timestamp).setIdle(idle))
        .build();
    broadcast(lastWatermark);
  }

  public void broadcast(Frame frame) {
    for (OutputChannel c : channels.values()) {
      c.sendControl(frame);
    }
  }

  /** Ends every channel (flush, EndOfStream, half-close). */
  public void endAll(String reason) {
    ending = true;
    for (OutputChannel c : channels.values()) {
      c.end(reason);
    }
  }

  /** True when every ended channel has been acknowledged (or failed). */
  public boolean allEndsDone() {
    for (OutputChannel c : channels.values()) {
      if (!c.endDone()) {
        return false;
      }
    }
    retiring.removeIf(OutputChannel::endDone);
    return retiring.isEmpty();
  }

  /** Channels that failed rather than acknowledging their end: their in-flight data is unconfirmed. */
  public List<String> unacknowledgedEnds() {
    List<String> out = new ArrayList<>();
    for (OutputChannel c : channels.values()) {
      if (!c.endAcknowledged()) {
        out.add(c.name());
      }
    }
    return out;
  }

  private void retryFailed(long nowNanos) {
    for (Route r : routes) {
      for (int i = 0; i < r.targets.length; i++) {
        OutputChannel c = r.targets[i];
        if (c.failure() == null) {
          continue;
        }
        String key = channelKey(r.route, r.route.getTargets(i));
        Long at = retryAt.get(key);
        if (at == null) {
          retryAt.put(key, nowNanos + RETRY_NANOS);
        } else if (at <= nowNanos) {
          retryAt.remove(key);
          LOG.info(instanceId + ": reopening " + c.name());
          OutputChannel fresh = open(r.route.getOutput(), r.route.getTargets(i));
          r.targets[i] = fresh;
          channels.put(key, fresh);
        }
      }
    }
  }

  /** Every output channel, for status and tests. */
  public List<OutputChannel> channels() {
    return List.copyOf(channels.values());
  }

  /** One output edge: a partitioner over its target channels. */
  private final class Route {
    final OutputRoute route;
    final OutputChannel[] targets;
    final int[] keyGroupToTarget;
    final int forwardTarget;
    int rr;

    Route(OutputRoute route, OutputChannel[] targets, int[] targetIndexes) {
      this.route = route;
      this.targets = targets;
      int maxP = route.getMaxParallelism() > 0 ? route.getMaxParallelism() : KeyGroups.DEFAULT_MAX_PARALLELISM;
      this.keyGroupToTarget = new int[maxP];
      java.util.Arrays.fill(keyGroupToTarget, -1);
      for (int i = 0; i < targets.length; i++) {
        var kg = route.getTargets(i).getKeyGroups();
        for (int g = kg.getStart(); g < kg.getEnd() && g < maxP; g++) {
          keyGroupToTarget[g] = i;
        }
      }
      int ft = -1;
      int expected = Math.max(1, route.getExpectedParallelism());
      for (int i = 0; i < targetIndexes.length; i++) {
        if (targetIndexes[i] == instanceIndex % expected) {
          ft = i;
        }
      }
      this.forwardTarget = ft;
    }

    boolean ready() {
      if (targets.length < route.getExpectedParallelism()) {
        return false;
      }
      if (route.getPartitioning() == Partitioning.PARTITIONING_HASH) {
        for (int t : keyGroupToTarget) {
          if (t < 0) {
            return false;
          }
        }
      }
      for (OutputChannel c : targets) {
        if (!c.isReady()) {
          return false;
        }
      }
      return targets.length > 0 || route.getExpectedParallelism() == 0;
    }

    void emitRaw(com.google.protobuf.ByteString e) {
      switch (route.getPartitioning()) {
        case PARTITIONING_HASH -> {
          int kg = KeyGroups.keyGroup(io.sluice.runtime.internal.exchange.FrameCodec.keyOf(e), keyGroupToTarget.length);
          targets[keyGroupToTarget[kg]].appendRaw(e);
        }
        case PARTITIONING_BROADCAST -> {
          for (OutputChannel c : targets) {
            c.appendRaw(e);
          }
        }
        case PARTITIONING_FORWARD -> targets[forwardTarget >= 0 ? forwardTarget : 0].appendRaw(e);
        default -> {
          OutputChannel c = targets[rr % targets.length];
          c.appendRaw(e);
          if (c.batchEmpty()) {
            rr = (rr + 1) % targets.length;
          }
        }
      }
    }

    void emit(Event e) {
      switch (route.getPartitioning()) {
        case PARTITIONING_HASH -> {
          int kg = KeyGroups.keyGroup(e.getKey(), keyGroupToTarget.length);
          targets[keyGroupToTarget[kg]].append(e);
        }
        case PARTITIONING_BROADCAST -> {
          for (OutputChannel c : targets) {
            c.append(e);
          }
        }
        case PARTITIONING_FORWARD -> targets[forwardTarget >= 0 ? forwardTarget : 0].append(e);
        default -> {
          // Round robin by batch: fill one target's batch, then move on, so batches stay full.
          OutputChannel c = targets[rr % targets.length];
          c.append(e);
          if (c.batchEmpty()) {
            rr = (rr + 1) % targets.length;
          }
        }
      }
    }
  }
}
