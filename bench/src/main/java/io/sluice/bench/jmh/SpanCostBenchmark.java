package io.sluice.bench.jmh;

import com.google.protobuf.ByteString;
import io.opentelemetry.exporter.internal.otlp.traces.LowAllocationTraceRequestMarshaler;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.sluice.bench.mesh.CollectingSpanExporter;
import io.sluice.proto.v1.Event;
import io.sluice.runtime.internal.trace.ProcessSpans;
import io.sluice.runtime.internal.trace.StageTracing;
import io.sluice.runtime.internal.trace.TraceOrigin;
import io.sluice.runtime.internal.trace.TraceWire;
import io.sluice.runtime.internal.trace.otlp.OtlpBatchSpanProcessor;
import io.sluice.runtime.internal.trace.otlp.OtlpSender;
import io.sluice.runtime.internal.trace.otlp.OtlpSpanEncoder;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What one sampled event's {@code process} span costs a stage, in its two halves: on the subtask
 * thread ({@code spanOnTheSubtask}: find the event sampled, start its span from its bytes, retrace
 * the output, end it into the stages' batch span processor, which encodes it there and queues its
 * bytes) and on the processor's thread (put 512 spans in an OTLP request). The second half is
 * measured with the stages' encoder ({@code encode512Spans}: each span encoded, then the
 * request) and, for comparison, with the SDK's OTLP exporter's marshaler in its low-allocation
 * mode ({@code marshal512Spans}). The floor under MeshBenchmark's {@code --trace-ratio} figures: at 1% of 2.5M
 * events/s through three stages, 75,000 spans a second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SpanCostBenchmark {
  private SdkTracerProvider provider;
  private SdkTracerProvider dataProvider;
  private ProcessSpans spans;
  private ProcessSpans dataSpans;
  private Event event;
  private byte[] eventBytes;
  private ByteString eventWire;
  private LowAllocationTraceRequestMarshaler marshaler;
  private final OtlpSpanEncoder encoder = new OtlpSpanEncoder();
  // 512 spans as they are queued when they end, for request512Spans.
  private List<OtlpSpanEncoder.EncodedSpan> encoded512;
  private final CollectingSpanExporter collected = new CollectingSpanExporter();

  @Setup
  public void setup() {
    // The processor the stages use, with the default settings, sending to a collector that
    // accepts and drops every request: the subtask half is measured with a live queue and a
    // worker draining it.
    OtlpSender accepting = new OtlpSender() {
      @Override
      public CompletableResultCode send(byte[] request) {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public CompletableResultCode shutdown() {
        return CompletableResultCode.ofSuccess();
      }

      @Override
      public String toString() {
        return "the benchmark's collector, which drops every request";
      }
    };
    provider = SdkTracerProvider.builder()
        .addSpanProcessor(OtlpBatchSpanProcessor.create(DefaultConfigProperties.createFromMap(Map.of()), () -> accepting))
        .build();
    spans = ProcessSpans.create(StageTracing.using(provider), "relay", 0);
    // The same spans as data, for the request half.
    dataProvider = SdkTracerProvider.builder()
        .addSpanProcessor(SimpleSpanProcessor.create(collected))
        .build();
    dataSpans = ProcessSpans.create(StageTracing.using(dataProvider), "relay", 0);
    event = Event.newBuilder()
        .setId("producer-1234567")
        .setKey(ByteString.copyFromUtf8("user-4711"))
        .setEventTime(1_767_225_600_000L)
        .setPayload(ByteString.copyFromUtf8("x".repeat(100)))
        .setTrace(new TraceOrigin(1.0, 7).newRoot())
        .build();
    eventWire = event.toByteString();
    eventBytes = eventWire.toByteArray();
    marshaler = new LowAllocationTraceRequestMarshaler();
    OtlpSpanEncoder spanEncoder = new OtlpSpanEncoder();
    encoded512 = new ArrayList<>();
    for (SpanData span : batch512()) {
      encoded512.add(spanEncoder.encodeSpan(span));
    }
  }

  @TearDown
  public void tearDown() {
    provider.shutdown().join(10, TimeUnit.SECONDS);
    dataProvider.shutdown().join(10, TimeUnit.SECONDS);
  }

  /** The subtask's half: the span of one sampled event, and its output's bytes retraced. */
  @Benchmark
  public Object spanOnTheSubtask() {
    // As a pass-through stage takes a batch's event: found sampled, then its span started from there.
    spans.startWire(eventBytes, 0, eventBytes.length, TraceWire.sampledTraceAt(eventBytes, 0, eventBytes.length));
    Object out = spans.retrace(eventWire);
    spans.end();
    return out;
  }

  /** 512 ended spans (one default export batch), made on the first call. */
  private List<SpanData> batch512() {
    while (collected.count() < 512) {
      dataSpans.startWire(eventBytes, 0, eventBytes.length);
      dataSpans.retrace(eventWire);
      dataSpans.end();
    }
    return collected.first(512);
  }

  /** The exporter's half with the stages' encoder, for 512 spans: divide by 512. */
  @Benchmark
  public int encode512Spans() {
    return encoder.encode(batch512()).length;
  }

  /**
   * What the exporter's thread does of the request half, for 512 spans: put spans already encoded
   * (as they are when they end) into one request. Divide by 512.
   */
  @Benchmark
  public int request512Spans() {
    return encoder.encodeRequest(encoded512).length;
  }

  /** The exporter's half with the SDK's marshaler, for 512 spans: divide by 512. */
  @Benchmark
  public long marshal512Spans() throws IOException {
    List<SpanData> copy = batch512();
    marshaler.initialize(copy);
    CountingStream out = new CountingStream();
    marshaler.writeBinaryTo(out);
    marshaler.reset();
    return out.count;
  }

  /** Counts what would be sent, so the serialization is not optimised away. */
  private static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
