package io.sluice.coordinator.dashboard;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The last {@link #capacity()} samples of every stage's rate and backpressure, oldest first: what
 * the dashboard plots. Older samples are dropped.
 *
 * <p>Thread-safe: the sampler adds, HTTP threads read; one lock.
 */
public final class RateHistory {
  /** One stage at one sample: its rate (events/s) and mean backpressured ratio. */
  public record Point(double rate, double backpressuredRatio) {}

  /** Every stage at one moment, epoch millis; stages in spec order. */
  public record Sample(long atMillis, Map<String, Point> stages) {
    public Sample {
      stages = Collections.unmodifiableMap(new LinkedHashMap<>(stages));
    }
  }

  private final int capacity;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();

  /** @param capacity how many samples are kept, e.g. 600: ten minutes at one a second */
  public RateHistory(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
  }

  public int capacity() {
    return capacity;
  }

  public void add(Sample sample) {
    synchronized (lock) {
      samples.addLast(sample);
      while (samples.size() > capacity) {
        samples.removeFirst();
      }
    }
  }

  /** Every sample taken after {@code sinceMillis} (exclusive), oldest first. */
  public List<Sample> since(long sinceMillis) {
    synchronized (lock) {
      return samples.stream().filter(s -> s.atMillis() > sinceMillis).toList();
    }
  }
}
