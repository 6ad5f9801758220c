package io.sluice.runtime.internal.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.TraceContext;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TraceOriginTest {
  @Test
  void newRootsAreValidDistinctW3cContexts() {
    TraceOrigin origin = new TraceOrigin(0.0, 1);
    Set<ByteString> traces = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      TraceContext t = origin.newRoot();
      assertThat(TraceOrigin.isValid(t)).isTrue();
      assertThat(t.getTraceFlags() & 1).as("ratio 0 samples nothing").isZero();
      traces.add(t.getTraceId());
    }
    assertThat(traces).hasSize(10_000);
  }

  @Test
  void samplingFollowsTheRatio() {
    TraceOrigin origin = new TraceOrigin(0.25, 7);
    int sampled = 0;
    for (int i = 0; i < 40_000; i++) {
      sampled += origin.newRoot().getTraceFlags() & 1;
    }
    // 10,000 expected; 4 standard deviations is about ±350.
    assertThat(sampled).isBetween(9_650, 10_350);
    assertThat(new TraceOrigin(1.0, 3).newRoot().getTraceFlags() & 1).isEqualTo(1);
  }

  @Test
  void malformedContextsAreInvalid() {
    TraceContext ok = new TraceOrigin(0, 5).newRoot();
    assertThat(TraceOrigin.isValid(ok.toBuilder().setTraceId(ByteString.copyFrom(new byte[16])).build())).isFalse();
    assertThat(TraceOrigin.isValid(ok.toBuilder().setSpanId(ByteString.copyFrom(new byte[8])).build())).isFalse();
    assertThat(TraceOrigin.isValid(ok.toBuilder().setTraceId(ByteString.copyFrom(new byte[3])).build())).isFalse();
    assertThat(TraceOrigin.isValid(TraceContext.getDefaultInstance())).isFalse();
    assertThatThrownBy(() -> new TraceOrigin(1.5, 0)).isInstanceOf(IllegalArgumentException.class);
  }
}
