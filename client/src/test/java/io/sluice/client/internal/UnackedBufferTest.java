package io.sluice.client.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.proto.v1.Event;
import java.util.List;
import org.junit.jupiter.api.Test;

class UnackedBufferTest {
  private static Event e(long i) {
    return Event.newBuilder().setId("e-" + i).build();
  }

  private static List<String> ids(UnackedBuffer.Batch b) {
    return b.events().stream().map(Event::getId).toList();
  }

  @Test
  void numbersEventsFromTheFirstSequenceAndReleasesThemOnAck() {
    UnackedBuffer b = new UnackedBuffer(5);
    for (long i = 5; i < 105; i++) {
      assertThat(b.append(e(i), 10)).isEqualTo(i);
    }
    assertThat(b.size()).isEqualTo(100);
    assertThat(b.bytes()).isEqualTo(1_000);
    assertThat(b.lastSequence()).isEqualTo(104);

    assertThat(b.release(3)).isZero(); // below what it holds
    assertThat(b.release(54)).isEqualTo(50);
    assertThat(b.ackedThrough()).isEqualTo(54);
    assertThat(b.bytes()).isEqualTo(500);
    assertThat(b.release(1_000)).isEqualTo(50); // never beyond the last sequence
    assertThat(b.isEmpty()).isTrue();
    assertThat(b.ackedThrough()).isEqualTo(104);
  }

  @Test
  void batchesFollowTheCursorAndCountResends() {
    UnackedBuffer b = new UnackedBuffer(1);
    for (long i = 1; i <= 10; i++) {
      b.append(e(i), 100);
    }
    UnackedBuffer.Batch first = b.nextBatch(4, Long.MAX_VALUE);
    assertThat(first.firstSequence()).isEqualTo(1);
    assertThat(ids(first)).containsExactly("e-1", "e-2", "e-3", "e-4");
    assertThat(first.resent()).isZero();
    // By bytes: events are taken until they reach 250 bytes, so three of 100.
    UnackedBuffer.Batch second = b.nextBatch(10, 250);
    assertThat(ids(second)).containsExactly("e-5", "e-6", "e-7");
    assertThat(b.unsent()).isEqualTo(3);

    b.release(2);
    b.rewindTo(3); // a new stream: resend from the first unacked
    assertThat(b.resending()).isTrue();
    UnackedBuffer.Batch again = b.nextBatch(6, Long.MAX_VALUE);
    assertThat(again.firstSequence()).isEqualTo(3);
    assertThat(ids(again)).containsExactly("e-3", "e-4", "e-5", "e-6", "e-7", "e-8");
    assertThat(again.resent()).isEqualTo(5);
    assertThat(b.resending()).isFalse();
    assertThat(b.nextBatch(6, Long.MAX_VALUE).events()).hasSize(2);
    assertThat(b.nextBatch(6, Long.MAX_VALUE).events()).isEmpty();
  }

  @Test
  void anAckBeyondTheCursorMovesItToo() {
    UnackedBuffer b = new UnackedBuffer(1);
    for (long i = 1; i <= 10; i++) {
      b.append(e(i), 1);
    }
    b.nextBatch(2, Long.MAX_VALUE);
    b.release(6); // a restored ingest acks further than this stream wrote
    assertThat(b.writtenThrough()).isEqualTo(6);
    assertThat(b.nextBatch(10, Long.MAX_VALUE).firstSequence()).isEqualTo(7);
  }

  @Test
  void growsPastItsInitialCapacityAcrossTheWrap() {
    UnackedBuffer b = new UnackedBuffer(1);
    long next = 1;
    for (int round = 0; round < 50; round++) {
      for (int i = 0; i < 13; i++) {
        b.append(e(next++), 1);
      }
      b.release(b.ackedThrough() + 7);
    }
    assertThat(b.size()).isEqualTo(50 * 6);
    UnackedBuffer.Batch all = b.nextBatch(1_000, Long.MAX_VALUE);
    assertThat(all.firstSequence()).isEqualTo(b.ackedThrough() + 1);
    for (int i = 0; i < all.events().size(); i++) {
      assertThat(all.events().get(i).getId()).isEqualTo("e-" + (all.firstSequence() + i));
    }
  }

  @Test
  void roomIsBoundedByCountAndBytesButAnEmptyBufferTakesABigEvent() {
    UnackedBuffer b = new UnackedBuffer(1);
    assertThat(b.hasRoom(1, 1_000, 10, 100)).isTrue();
    b.append(e(1), 1_000);
    assertThat(b.hasRoom(1, 1, 10, 100)).isFalse();
    b.release(1);
    for (int i = 0; i < 10; i++) {
      b.append(e(i + 2), 1);
    }
    assertThat(b.hasRoom(1, 1, 10, 100)).isFalse();
    assertThat(b.hasRoom(0, 0, 10, 100)).isTrue();
  }

  @Test
  void cannotRewindToEventsItNoLongerHolds() {
    UnackedBuffer b = new UnackedBuffer(1);
    b.append(e(1), 1);
    b.append(e(2), 1);
    b.release(1);
    assertThatThrownBy(() -> b.rewindTo(1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.rewindTo(4)).isInstanceOf(IllegalArgumentException.class);
    b.rewindTo(3); // nothing to resend: allowed
    assertThat(b.unsent()).isZero();
    assertThatThrownBy(() -> new UnackedBuffer(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
