package io.sluice.runtime.internal.task;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The watermarks of a subtask's inputs, one per upstream instance: the subtask's watermark is the
 * minimum over the inputs that are neither idle nor ended. An upstream instance the routes announce
 * but that has not connected yet holds the minimum at {@link Long#MIN_VALUE}: nothing may fire
 * before every input has spoken. An idle input counts again once a batch or a non-idle watermark
 * arrives from it.
 *
 * <p>Threading: confined to the subtask thread.
 */
final class InputWatermarks {
  private static final class Input {
    long watermark = Long.MIN_VALUE;
    boolean idle;
    int openChannels;
    boolean ended;
  }

  private final Map<String, Input> inputs = new HashMap<>();
  private Set<String> expected = Set.of();

  /** The upstream instances the routes name. */
  void expect(Set<String> instances) {
    expected = instances;
  }

  /** A channel from {@code instance} opened. */
  void opened(String instance) {
    Input in = inputs.computeIfAbsent(instance, k -> new Input());
    in.openChannels++;
    in.ended = false;
  }

  /**
   * A channel from {@code instance} ended with EndOfStream ({@code endOfStream}) or broke. An input
   * counts as ended only after an EndOfStream on its last channel: one that merely broke keeps
   * holding the minimum at its last watermark until it reconnects and moves on.
   */
  void closed(String instance, boolean endOfStream) {
    Input in = inputs.get(instance);
    if (in == null) {
      return;
    }
    in.openChannels = Math.max(0, in.openChannels - 1);
    if (endOfStream && in.openChannels == 0) {
      in.ended = true;
    } else if (in.openChannels == 0 && !expected.contains(instance)) {
      // Broke, and the routes do not name it (a stray or refused connection): forget it rather
      // than let it hold the minimum forever. It counts again if it connects again.
      inputs.remove(instance);
    }
  }

  /** A watermark frame arrived; watermarks of one input never go back. */
  void watermark(String instance, long timestamp, boolean idle) {
    Input in = inputs.computeIfAbsent(instance, k -> new Input());
    in.watermark = Math.max(in.watermark, timestamp);
    in.idle = idle;
  }

  /** Data arrived from {@code instance}; returns true if that made an idle input active. */
  boolean data(String instance) {
    Input in = inputs.get(instance);
    if (in != null && in.idle) {
      in.idle = false;
      return true;
    }
    return false;
  }

  /**
   * The minimum over active inputs; {@link Long#MIN_VALUE} while an expected input has not
   * connected; {@link Long#MAX_VALUE} when every input is idle or ended (see {@link #allIdle}).
   */
  long minimum() {
    long min = Long.MAX_VALUE;
    for (String id : expected) {
      if (!inputs.containsKey(id)) {
        return Long.MIN_VALUE;
      }
    }
    for (Input in : inputs.values()) {
      if (!in.ended && !in.idle) {
        min = Math.min(min, in.watermark);
      }
    }
    return min;
  }

  /** True when at least one input is idle and every other one is idle or ended. */
  boolean allIdle() {
    boolean anyIdle = false;
    for (String id : expected) {
      if (!inputs.containsKey(id)) {
        return false;
      }
    }
    for (Input in : inputs.values()) {
      if (in.ended) {
        continue;
      }
      if (!in.idle) {
        return false;
      }
      anyIdle = true;
    }
    return anyIdle;
  }
}
