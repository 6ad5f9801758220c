package io.sluice.runtime.internal.task;

import io.sluice.runtime.api.TimeDomain;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;

/**
 * The timers of one operator: per domain, a queue by timestamp and a set of (key, timestamp) so
 * that registering twice keeps one timer. Deleted timers stay in the queue until they reach its
 * head and are skipped there. Shared by the runtime and the test kit so both fire alike.
 *
 * <p>Keys are compared by {@code equals}, and byte arrays by content.
 *
 * <p>Threading: confined to the operator's thread.
 *
 * @param <K> the timer key type
 */
public final class KeyedTimers<K> {
  /** Called for every timer that fires. */
  @FunctionalInterface
  public interface Firing<K> {
    void fire(K key, long timestamp, TimeDomain domain);
  }

  private final Queue<K> eventTime = new Queue<>();
  private final Queue<K> processingTime = new Queue<>();
  private long seq;

  /** Registers a timer; returns true if it is new. */
  public boolean register(TimeDomain domain, K key, long timestamp) {
    return queue(domain).add(key, timestamp, seq++);
  }

  /** Deletes a timer if it exists. */
  public void delete(TimeDomain domain, K key, long timestamp) {
    queue(domain).remove(key, timestamp);
  }

  /**
   * Fires every event-time timer at or before {@code watermark}, in timestamp order (registration
   * order among equal ones), including timers registered by the firing ones.
   */
  public void advanceWatermark(long watermark, Firing<K> firing) {
    eventTime.fireUpTo(watermark, TimeDomain.EVENT_TIME, firing);
  }

  /** Fires every processing-time timer at or before {@code nowMillis}. */
  public void advanceProcessingTime(long nowMillis, Firing<K> firing) {
    processingTime.fireUpTo(nowMillis, TimeDomain.PROCESSING_TIME, firing);
  }

  /** The earliest processing-time timer's timestamp, or {@link Long#MAX_VALUE} if none. */
  public long nextProcessingTime() {
    return processingTime.headTime();
  }

  /** Calls {@code action} for every live timer of both domains (for snapshots); fires nothing. */
  public void forEachLive(Firing<K> action) {
    for (Entry<K> e : eventTime.live.keySet()) {
      action.fire(e.key, e.timestamp, TimeDomain.EVENT_TIME);
    }
    for (Entry<K> e : processingTime.live.keySet()) {
      action.fire(e.key, e.timestamp, TimeDomain.PROCESSING_TIME);
    }
  }

  /** The number of live timers of a domain. */
  public int size(TimeDomain domain) {
    return queue(domain).live.size();
  }

  private Queue<K> queue(TimeDomain domain) {
    return domain == TimeDomain.EVENT_TIME ? eventTime : processingTime;
  }

  private static final class Queue<K> {
    final PriorityQueue<Entry<K>> byTime = new PriorityQueue<>();
    final Map<Entry<K>, Entry<K>> live = new HashMap<>();

    boolean add(K key, long timestamp, long seq) {
      Entry<K> e = new Entry<>(key, timestamp, seq);
      if (live.putIfAbsent(e, e) != null) {
        return false;
      }
      byTime.add(e);
      return true;
    }

    void remove(K key, long timestamp) {
      live.remove(new Entry<>(key, timestamp, 0));
    }

    long headTime() {
      Entry<K> head;
      while ((head = byTime.peek()) != null && live.get(head) != head) {
        byTime.poll(); // deleted, or replaced by a re-registration after a delete
      }
      return head == null ? Long.MAX_VALUE : head.timestamp;
    }

    void fireUpTo(long time, TimeDomain domain, Firing<K> firing) {
      while (headTime() <= time && !byTime.isEmpty()) {
        Entry<K> e = byTime.poll();
        live.remove(e);
        firing.fire(e.key, e.timestamp, domain);
      }
    }
  }

  /** Equal by key and timestamp; ordered by timestamp, then registration. */
  private static final class Entry<K> implements Comparable<Entry<K>> {
    final K key;
    final long timestamp;
    final long seq;

    Entry(K key, long timestamp, long seq) {
      this.key = key;
      this.timestamp = timestamp;
      this.seq = seq;
    }

    @Override
    public int compareTo(Entry<K> o) {
      int c = Long.compare(timestamp, o.timestamp);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry<?> e && e.timestamp == timestamp && Objects.deepEquals(e.key, key);
    }

    @Override
    public int hashCode() {
      // deep: byte[] keys compare by content
      return Arrays.deepHashCode(new Object[] {key}) * 31 + Long.hashCode(timestamp);
    }
  }
}
