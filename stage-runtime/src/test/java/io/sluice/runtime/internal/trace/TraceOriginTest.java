package io.sluice.runtime.internal.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
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

  @Test
  void theStageSettingWinsThenTheOtelSamplerArgThenTheDefault() {
    StageConfig none = StageConfig.fromJson("in", "{}", Path.of("."));
    StageConfig half = StageConfig.fromJson("in", "{\"tracing\": {\"sampleRatio\": 0.5}}", Path.of("."));
    Map<String, String> ratio = Map.of("otel.traces.sampler", "parentbased_traceidratio", "otel.traces.sampler.arg", "0.25");
    assertThat(TraceOrigin.sampleRatio(half, ratio::get)).isEqualTo(0.5);
    assertThat(TraceOrigin.sampleRatio(none, ratio::get)).isEqualTo(0.25);
    assertThat(TraceOrigin.sampleRatio(none, Map.of("otel.traces.sampler", "traceidratio", "otel.traces.sampler.arg", "0.1")::get))
        .isEqualTo(0.1);
    assertThat(TraceOrigin.sampleRatio(none, Map.of("otel.traces.sampler", "traceidratio")::get))
        .as("the SDK's default argument").isEqualTo(1.0);
    assertThat(TraceOrigin.sampleRatio(none, Map.of("otel.traces.sampler", "always_off")::get)).isEqualTo(0.0);
    assertThat(TraceOrigin.sampleRatio(none, Map.of("otel.traces.sampler", "parentbased_always_on")::get)).isEqualTo(1.0);
    assertThat(TraceOrigin.sampleRatio(none, Map.of("otel.traces.sampler.arg", "0.3")::get))
        .as("an argument without a ratio sampler is not a ratio").isEqualTo(TraceOrigin.DEFAULT_SAMPLE_RATIO);
    assertThat(TraceOrigin.sampleRatio(none, Map.<String, String>of()::get)).isEqualTo(0.01);
  }

  @Test
  void badRatiosAreConfigErrorsNamingTheSetting() {
    for (String bad : new String[] {"2", "-0.1", "\"x\""}) {
      StageConfig c = StageConfig.fromJson("in", "{\"tracing\": {\"sampleRatio\": " + bad + "}}", Path.of("."));
      assertThatThrownBy(() -> TraceOrigin.sampleRatio(c, Map.<String, String>of()::get))
          .isInstanceOf(ConfigException.class).hasMessageContaining("tracing.sampleRatio");
    }
    StageConfig none = StageConfig.fromJson("in", "{}", Path.of("."));
    assertThatThrownBy(() -> TraceOrigin.sampleRatio(none,
            Map.of("otel.traces.sampler", "traceidratio", "otel.traces.sampler.arg", "lots")::get))
        .isInstanceOf(ConfigException.class).hasMessageContaining("OTEL_TRACES_SAMPLER_ARG");
  }

  @Test
  void writeSampledWritesWhatProtobufWrites() {
    byte[] traceId = new byte[16];
    byte[] spanId = new byte[8];
    traceId[3] = 7;
    spanId[5] = 9;
    byte[] out = new byte[TraceOrigin.rootSize(true)];
    assertThat(TraceOrigin.writeSampled(out, 0, traceId, spanId)).isEqualTo(out.length);
    assertThat(out).isEqualTo(TraceOrigin.newRoot(traceId, spanId, true).toByteArray());
  }
}
