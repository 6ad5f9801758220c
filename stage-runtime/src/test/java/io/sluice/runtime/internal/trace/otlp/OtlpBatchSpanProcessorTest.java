package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingResult;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.data.LinkData;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OtlpBatchSpanProcessorTest {
  private static final Duration NEVER = Duration.ofHours(1);

  private final Sender sender = new Sender();
  private final List<SdkTracerProvider> providers = new ArrayList<>();

  /**
   * A sender that keeps what it is given, for the processor's side of the contract (the senders
   * have their own tests against real collectors). Answers at once unless told to hold.
   */
  private static final class Sender implements OtlpSender {
    final BlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
    final AtomicBoolean shutDown = new AtomicBoolean();
    volatile boolean hold;

    record Sent(ExportTraceServiceRequest request, CompletableResultCode result) {}

    @Override
    public CompletableResultCode send(byte[] request) {
      CompletableResultCode result = new CompletableResultCode();
      try {
        sent.add(new Sent(ExportTraceServiceRequest.parseFrom(request), result));
      } catch (Exception e) {
        throw new AssertionError("the processor sent a malformed request", e);
      }
      if (!hold) {
        result.succeed();
      }
      return result;
    }

    @Override
    public CompletableResultCode shutdown() {
      shutDown.set(true);
      return CompletableResultCode.ofSuccess();
    }

    Sent next() throws InterruptedException {
      Sent s = sent.poll(10, TimeUnit.SECONDS);
      assertThat(s).as("a request was sent within 10 s").isNotNull();
      return s;
    }

    @Override
    public String toString() {
      return "the test's collector";
    }
  }

  @AfterEach
  void closeProviders() {
    providers.forEach(p -> p.shutdown().join(10, TimeUnit.SECONDS));
  }

  private OtlpBatchSpanProcessor processor(Duration delay, int queueSize, int batchSize) {
    return new OtlpBatchSpanProcessor(sender, delay, queueSize, batchSize, NEVER, System::nanoTime);
  }

  private Tracer tracer(OtlpBatchSpanProcessor processor, Sampler sampler) {
    SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "sluice-enrich")))
        .setSampler(sampler)
        .addSpanProcessor(processor)
        .build();
    providers.add(provider);
    return provider.get("io.sluice.stage-runtime");
  }

  private static List<String> names(ExportTraceServiceRequest request) {
    List<String> names = new ArrayList<>();
    request.getResourceSpansList().forEach(r -> r.getScopeSpansList()
        .forEach(s -> s.getSpansList().forEach(span -> names.add(span.getName()))));
    return names;
  }

  private static void end(Tracer tracer, String... names) {
    for (String name : names) {
      tracer.spanBuilder(name).setSpanKind(SpanKind.CONSUMER).startSpan().end();
    }
  }

  @Test
  void aFullBatchGoesAtOnceAsOneRequestOfTheSpansAsTheyEnded() throws Exception {
    OtlpBatchSpanProcessor processor = processor(NEVER, 16, 4);
    Tracer tracer = tracer(processor, Sampler.alwaysOn());
    Span first = tracer.spanBuilder("process enrich").setSpanKind(SpanKind.CONSUMER)
        .setAttribute("messaging.message.id", "e-1").startSpan();
    first.end();
    end(tracer, "b", "c", "d");

    ExportTraceServiceRequest request = sender.next().request();
    assertThat(names(request)).containsExactly("process enrich", "b", "c", "d");
    assertThat(request.getResourceSpans(0).getResource().getAttributesList())
        .anySatisfy(kv -> {
          assertThat(kv.getKey()).isEqualTo("service.name");
          assertThat(kv.getValue().getStringValue()).isEqualTo("sluice-enrich");
        });
    ScopeSpans scope = request.getResourceSpans(0).getScopeSpans(0);
    assertThat(scope.getScope().getName()).isEqualTo("io.sluice.stage-runtime");
    var span = scope.getSpans(0);
    assertThat(HexFormat.of().formatHex(span.getSpanId().toByteArray()))
        .isEqualTo(first.getSpanContext().getSpanId());
    assertThat(HexFormat.of().formatHex(span.getTraceId().toByteArray()))
        .isEqualTo(first.getSpanContext().getTraceId());
    assertThat(span.getAttributesList()).singleElement().satisfies(kv -> {
      assertThat(kv.getKey()).isEqualTo("messaging.message.id");
      assertThat(kv.getValue().getStringValue()).isEqualTo("e-1");
    });

    // Fewer than a batch wait for the schedule (an hour here) or a flush.
    end(tracer, "e", "f", "g");
    assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(names(sender.next().request())).containsExactly("e", "f", "g");
    assertThat(sender.sent).isEmpty();
  }

  @Test
  void whatIsQueuedGoesWhenTheScheduleDelayHasPassed() throws Exception {
    Tracer tracer = tracer(processor(Duration.ofMillis(50), 2048, 512), Sampler.alwaysOn());
    end(tracer, "lonely");

    assertThat(names(sender.next().request())).containsExactly("lonely");
  }

  @Test
  void aFlushCompletesOnlyWhenTheCollectorHasAnswered() throws Exception {
    OtlpBatchSpanProcessor processor = processor(NEVER, 2048, 512);
    Tracer tracer = tracer(processor, Sampler.alwaysOn());
    sender.hold = true;
    end(tracer, "a", "b");

    CompletableResultCode flushed = processor.forceFlush();
    Sender.Sent sent = sender.next();
    assertThat(names(sent.request())).containsExactly("a", "b");
    assertThat(flushed.isDone()).as("done before the answer").isFalse();
    sent.result().succeed();
    assertThat(flushed.join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
  }

  @Test
  void aFlushFailsWhenAnExportFailed() throws Exception {
    OtlpBatchSpanProcessor processor = processor(NEVER, 2048, 512);
    Tracer tracer = tracer(processor, Sampler.alwaysOn());
    sender.hold = true;
    end(tracer, "a");

    CompletableResultCode flushed = processor.forceFlush();
    sender.next().result().fail();
    assertThat(flushed.join(10, TimeUnit.SECONDS).isDone()).isTrue();
    assertThat(flushed.isSuccess()).isFalse();
  }

  @Test
  void spansThatFindTheQueueFullAreDroppedCountedAndLoggedOnce() throws Exception {
    try (CapturedLogs logs = new CapturedLogs()) {
      OtlpBatchSpanProcessor processor = processor(NEVER, 4, 2);
      Tracer tracer = tracer(processor, Sampler.alwaysOn());
      sender.hold = true;
      end(tracer, "1", "2");
      Sender.Sent first = sender.next(); // the worker now waits for its answer
      end(tracer, "3", "4", "5", "6"); // fills the queue
      end(tracer, "7", "8", "9"); // dropped

      sender.hold = false;
      first.result().succeed();
      assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();

      List<String> exported = new ArrayList<>(names(first.request()));
      for (Sender.Sent s; (s = sender.sent.poll()) != null; ) {
        exported.addAll(names(s.request()));
      }
      assertThat(exported).containsExactly("1", "2", "3", "4", "5", "6");
      assertThat(logs.warnings()).singleElement().satisfies(w -> assertThat(w)
          .startsWith("Dropped 3 spans: the export queue (OTEL_BSP_MAX_QUEUE_SIZE=4) was full")
          .contains("the test's collector"));

      // Within the warning interval, further drops are counted but not logged.
      sender.hold = true;
      end(tracer, "10", "11");
      Sender.Sent third = sender.next();
      end(tracer, "12", "13", "14", "15", "16");
      sender.hold = false;
      third.result().succeed();
      assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
      assertThat(logs.warnings()).hasSize(1);
    }
  }

  @Test
  void shutdownExportsWhatIsQueuedThenClosesTheSenderAndLaterSpansAreDropped() throws Exception {
    OtlpBatchSpanProcessor processor = processor(NEVER, 2048, 512);
    Tracer tracer = tracer(processor, Sampler.alwaysOn());
    end(tracer, "a", "b", "c");

    assertThat(processor.shutdown().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(names(sender.next().request())).containsExactly("a", "b", "c");
    assertThat(sender.shutDown).isTrue();

    end(tracer, "late");
    assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(sender.sent).isEmpty();
  }

  @Test
  void onlySampledSpansAreExported() throws Exception {
    Sampler recordOnly = new Sampler() {
      @Override
      public SamplingResult shouldSample(Context parentContext, String traceId, String name, SpanKind spanKind,
          Attributes attributes, List<LinkData> parentLinks) {
        return name.equals("kept") ? SamplingResult.recordAndSample() : SamplingResult.recordOnly();
      }

      @Override
      public String getDescription() {
        return "recordOnly";
      }
    };
    OtlpBatchSpanProcessor processor = processor(NEVER, 2048, 512);
    Tracer tracer = tracer(processor, recordOnly);
    end(tracer, "recorded", "kept");

    assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(names(sender.next().request())).containsExactly("kept");
  }

  @Test
  void spansOfTwoScopesGoInOneRequestUnderTwoScopes() throws Exception {
    OtlpBatchSpanProcessor processor = processor(NEVER, 2048, 512);
    SdkTracerProvider provider = SdkTracerProvider.builder().addSpanProcessor(processor).build();
    providers.add(provider);
    end(provider.get("io.sluice.stage-runtime"), "ours");
    end(provider.get("io.grpc"), "theirs");
    end(provider.get("io.sluice.stage-runtime"), "ours again");

    assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();
    ExportTraceServiceRequest request = sender.next().request();
    assertThat(request.getResourceSpansCount()).isEqualTo(1);
    assertThat(request.getResourceSpans(0).getScopeSpansList())
        .extracting(s -> s.getScope().getName() + ": " + s.getSpansList().stream().map(x -> x.getName()).toList())
        .containsExactly("io.sluice.stage-runtime: [ours, ours again]", "io.grpc: [theirs]");
  }

  @Test
  void spansEndedOnManyThreadsAreAllExported() throws Exception {
    OtlpBatchSpanProcessor processor = processor(NEVER, 100_000, 64);
    Tracer tracer = tracer(processor, Sampler.alwaysOn());
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int thread = t;
      Thread th = new Thread(() -> {
        for (int i = 0; i < 1000; i++) {
          end(tracer, thread + "-" + i);
        }
      });
      th.start();
      threads.add(th);
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(processor.forceFlush().join(10, TimeUnit.SECONDS).isSuccess()).isTrue();

    List<String> exported = new ArrayList<>();
    for (Sender.Sent s; (s = sender.sent.poll()) != null; ) {
      assertThat(s.request().getResourceSpans(0).getScopeSpans(0).getSpansCount()).isLessThanOrEqualTo(64);
      exported.addAll(names(s.request()));
    }
    assertThat(exported).hasSize(4000).doesNotHaveDuplicates();
  }

  @Test
  void createReadsTheBatchSettingsAndNamesABadOne() {
    Map<String, String> base = Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:4317");
    assertThatThrownBy(() -> create(base, "otel.bsp.max.queue.size", "0"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessage("OTEL_BSP_MAX_QUEUE_SIZE (otel.bsp.max.queue.size) must be positive, not 0");
    assertThatThrownBy(() -> create(base, "otel.bsp.max.export.batch.size", "-5"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessage("OTEL_BSP_MAX_EXPORT_BATCH_SIZE (otel.bsp.max.export.batch.size) must be positive, not -5");
    assertThatThrownBy(() -> create(base, "otel.bsp.schedule.delay", "-1"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("OTEL_BSP_SCHEDULE_DELAY");
    assertThatThrownBy(() -> create(base, "otel.bsp.max.queue.size", "many"))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("otel.bsp.max.queue.size");

    OtlpBatchSpanProcessor clamped = create(base, "otel.bsp.max.export.batch.size", "4096");
    try {
      assertThat(clamped.toString()).contains("maxQueueSize=2048, maxExportBatchSize=2048")
          .contains("OTLP/gRPC endpoint http://127.0.0.1:4317");
    } finally {
      clamped.shutdown().join(10, TimeUnit.SECONDS);
    }
  }

  private static OtlpBatchSpanProcessor create(Map<String, String> base, String key, String value) {
    Map<String, String> m = new HashMap<>(base);
    m.put(key, value);
    return OtlpBatchSpanProcessor.create(DefaultConfigProperties.createFromMap(m));
  }
}
