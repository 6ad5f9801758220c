package io.sluice.runtime.internal.task;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.runtime.api.TimeDomain;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KeyedTimersTest {
  private final KeyedTimers<String> timers = new KeyedTimers<>();
  private final List<String> fired = new ArrayList<>();

  private void record(String key, long ts, TimeDomain domain) {
    fired.add(key + "@" + ts + (domain == TimeDomain.EVENT_TIME ? "" : "p"));
  }

  @Test
  void eventTimeTimersFireInTimestampOrderUpToTheWatermark() {
    timers.register(TimeDomain.EVENT_TIME, "b", 20);
    timers.register(TimeDomain.EVENT_TIME, "a", 10);
    timers.register(TimeDomain.EVENT_TIME, "c", 30);

    timers.advanceWatermark(20, this::record);

    assertThat(fired).containsExactly("a@10", "b@20");
    assertThat(timers.size(TimeDomain.EVENT_TIME)).isEqualTo(1);
  }

  @Test
  void registeringTheSameTimerTwiceKeepsOne() {
    assertThat(timers.register(TimeDomain.EVENT_TIME, "a", 10)).isTrue();
    assertThat(timers.register(TimeDomain.EVENT_TIME, "a", 10)).isFalse();

    timers.advanceWatermark(Long.MAX_VALUE, this::record);

    assertThat(fired).containsExactly("a@10");
  }

  @Test
  void byteArrayKeysCompareByContent() {
    KeyedTimers<byte[]> bytes = new KeyedTimers<>();
    assertThat(bytes.register(TimeDomain.EVENT_TIME, new byte[] {1, 2}, 5)).isTrue();
    assertThat(bytes.register(TimeDomain.EVENT_TIME, new byte[] {1, 2}, 5)).isFalse();
    bytes.delete(TimeDomain.EVENT_TIME, new byte[] {1, 2}, 5);
    assertThat(bytes.size(TimeDomain.EVENT_TIME)).isZero();
  }

  @Test
  void deletedTimersDoNotFireAndMayBeRegisteredAgain() {
    timers.register(TimeDomain.EVENT_TIME, "a", 10);
    timers.register(TimeDomain.EVENT_TIME, "b", 10);
    timers.delete(TimeDomain.EVENT_TIME, "a", 10);
    timers.delete(TimeDomain.EVENT_TIME, "zz", 99); // none: nothing happens

    timers.advanceWatermark(10, this::record);
    assertThat(fired).containsExactly("b@10");

    timers.register(TimeDomain.EVENT_TIME, "a", 10);
    timers.delete(TimeDomain.EVENT_TIME, "a", 10);
    timers.register(TimeDomain.EVENT_TIME, "a", 10);
    timers.advanceWatermark(11, this::record);
    assertThat(fired).containsExactly("b@10", "a@10");
  }

  @Test
  void timersRegisteredWhileFiringFireInTheSameAdvanceWhenDue() {
    KeyedTimers.Firing<String> chain = (key, ts, domain) -> {
      record(key, ts, domain);
      if (ts < 30) {
        timers.register(TimeDomain.EVENT_TIME, key, ts + 10);
      }
    };
    timers.register(TimeDomain.EVENT_TIME, "a", 10);

    timers.advanceWatermark(25, chain);

    assertThat(fired).containsExactly("a@10", "a@20");
    assertThat(timers.size(TimeDomain.EVENT_TIME)).isEqualTo(1); // a@30 waits
  }

  @Test
  void domainsAreSeparate() {
    timers.register(TimeDomain.EVENT_TIME, "a", 10);
    timers.register(TimeDomain.PROCESSING_TIME, "a", 10);
    assertThat(timers.nextProcessingTime()).isEqualTo(10);

    timers.advanceProcessingTime(10, this::record);

    assertThat(fired).containsExactly("a@10p");
    assertThat(timers.nextProcessingTime()).isEqualTo(Long.MAX_VALUE);
    assertThat(timers.size(TimeDomain.EVENT_TIME)).isEqualTo(1);
  }

  @Test
  void advancingToTheEndOnAnEmptyQueueReturns() {
    timers.advanceWatermark(Long.MAX_VALUE, this::record);
    timers.advanceProcessingTime(Long.MAX_VALUE, this::record);
    assertThat(fired).isEmpty();
  }
}
