package io.sluice.runtime.internal.source;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.internal.exchange.FrameCodec;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.nio.ByteBuffer;
import java.time.Clock;
import org.junit.jupiter.api.Test;

class GeneratorSourceTest {
  @Test
  void binaryEventsAreExactlyTheBytesProtobufWritesForTheSameEvent() throws Exception {
    GeneratorSource source = new GeneratorSource(
        new GeneratorStageFactory.Settings(0, 0, 100, 50, false), "gen-3", Clock.systemUTC(),
        new TaskMetrics(), new TraceOrigin(0.5, 1), null);
    long before = System.nanoTime();
    // In order (the generator counts its digits up) and out of it (they are computed anew).
    for (long seq : new long[] {0, 1, 2, 9, 10, 11, 99, 100, 127, 128, 999, 1000, 7, 999_999_999_999_999_999L,
        1_000_000_000_000_000_000L, 1_000_000_007L, Long.MAX_VALUE - 1, Long.MAX_VALUE, 5}) {
      ByteString wire = source.binaryEvent(seq, 1_767_225_600_123L);
      Event e = Event.parseFrom(wire);
      assertThat(e.getId()).isEqualTo("gen-3-" + seq);
      assertThat(e.getKey().toStringUtf8()).startsWith("key-");
      assertThat(e.getEventTime()).isEqualTo(1_767_225_600_123L);
      assertThat(e.getContentType()).isEqualTo("application/octet-stream");
      assertThat(e.getPayload().size()).isEqualTo(100);
      long created = ByteBuffer.wrap(e.getPayload().toByteArray()).getLong();
      assertThat(created).isBetween(before, System.nanoTime());
      assertThat(TraceOrigin.isValid(e.getTrace())).isTrue();
      assertThat(FrameCodec.keyOf(wire)).isEqualTo(e.getKey());
      // Canonical: the same bytes protobuf writes, so every reader of the contract agrees.
      assertThat(wire).isEqualTo(e.toByteString());
    }
  }

  @Test
  void idsCountUpInDecimalAcrossEveryCarry() throws Exception {
    GeneratorSource source = new GeneratorSource(
        new GeneratorStageFactory.Settings(0, 0, 100, 50, false), "g", Clock.systemUTC(),
        new TaskMetrics(), new TraceOrigin(0, 1), null);
    for (long seq = 0; seq <= 100_500; seq++) {
      assertThat(Event.parseFrom(source.binaryEvent(seq, 1L)).getId()).isEqualTo("g-" + seq);
    }
  }
}
