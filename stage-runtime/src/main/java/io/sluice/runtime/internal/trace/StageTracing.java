package io.sluice.runtime.internal.trace;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.sluice.runtime.internal.trace.otlp.OtlpBatchSpanProcessor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The OpenTelemetry tracing of one stage process: an SDK configured from the standard {@code
 * OTEL_*} variables (and {@code otel.*} system properties), with Sluice's defaults under them:
 *
 * <ul>
 *   <li>traces are exported only when an OTLP endpoint ({@code OTEL_EXPORTER_OTLP_ENDPOINT} or
 *       {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}) or {@code OTEL_TRACES_EXPORTER} is set, so a
 *       laptop run does not retry connections to a collector that is not there;
 *   <li>metrics and logs exporters are off (the stage serves Prometheus metrics of its own);
 *   <li>{@code service.name} is {@code sluice-<stage>} unless set, and {@code service.instance.id}
 *       is the instance id;
 *   <li>the sampler is always parent-based-always-on, whatever {@code OTEL_TRACES_SAMPLER} says:
 *       sampling is decided once, at the source (see {@link TraceOrigin}), and a source starts a
 *       span only for the events it sampled, so the SDK must not apply a second ratio.
 * </ul>
 *
 * <p>OTLP export ({@code OTEL_TRACES_EXPORTER=otlp}, the default once an endpoint is set) goes
 * through {@link OtlpBatchSpanProcessor}, a batch span processor under the standard {@code
 * OTEL_BSP_*} settings that encodes each span as it ends; other exporters autoconfigure names
 * ({@code console}, ...) keep the SDK's processors. Both export on their own threads; {@link
 * #close} flushes them. The SDK is not registered as {@link
 * io.opentelemetry.api.GlobalOpenTelemetry}.
 *
 * <p>When no exporter is configured (or {@code OTEL_SDK_DISABLED=true}) tracing is {@linkplain
 * #enabled() off}: stages then record nothing and pass trace contexts on unchanged, as if this
 * class did not exist.
 *
 * <p>Threading: thread-safe; one instance per process, closed once when the process stops.
 */
public final class StageTracing implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StageTracing.class.getName());
  private static final String SCOPE = "io.sluice.stage-runtime";
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  private static final AttributeKey<String> SERVICE_INSTANCE_ID = AttributeKey.stringKey("service.instance.id");
  private static final StageTracing OFF = new StageTracing(null, null);

  private final Tracer tracer;
  private final OpenTelemetrySdk sdk;

  private StageTracing(Tracer tracer, OpenTelemetrySdk sdk) {
    this.tracer = tracer;
    this.sdk = sdk;
  }

  /** Tracing that records nothing. */
  public static StageTracing off() {
    return OFF;
  }

  /** Tracing through a tracer provider the caller owns (tests): enabled, and close does nothing. */
  public static StageTracing using(TracerProvider provider) {
    return new StageTracing(provider.get(SCOPE), null);
  }

  /** The process's tracing, from the OTEL_* variables and otel.* system properties. */
  public static StageTracing fromEnvironment(String stage, String instanceId) {
    return configure(stage, instanceId, Map::of);
  }

  /**
   * As {@link #fromEnvironment}, with {@code settings} (by property name, {@code
   * otel.traces.exporter}) under the environment and system properties but over Sluice's defaults.
   */
  static StageTracing configure(String stage, String instanceId, Supplier<Map<String, String>> settings) {
    // What the customizer saw of the final settings (it runs once, inside build()).
    boolean[] exporting = new boolean[1];
    boolean[] otlp = new boolean[1];
    String[] described = new String[1];
    AutoConfiguredOpenTelemetrySdk configured = AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(settings)
        .addPropertiesCustomizer(config -> {
          Map<String, String> defaults = sluiceDefaults(config);
          String exporters = defaults.getOrDefault("otel.traces.exporter", config.getString("otel.traces.exporter"));
          exporting[0] = !config.getBoolean("otel.sdk.disabled", false) && exports(exporters);
          described[0] = exporters + ", protocol " + config.getString("otel.exporter.otlp.traces.protocol",
              config.getString("otel.exporter.otlp.protocol", "grpc"));
          // OTLP goes through Sluice's processor (added below), not autoconfigure's exporter.
          List<String> others = new ArrayList<>();
          for (String e : exporters.split(",")) {
            if (e.trim().equals("otlp")) {
              otlp[0] = true;
            } else if (!e.isBlank()) {
              others.add(e.trim());
            }
          }
          defaults.put("otel.traces.exporter", others.isEmpty() ? "none" : String.join(",", others));
          return defaults;
        })
        .addTracerProviderCustomizer((builder, config) ->
            otlp[0] && exporting[0] ? builder.addSpanProcessor(OtlpBatchSpanProcessor.create(config)) : builder)
        .addSamplerCustomizer((sampler, config) -> Sampler.parentBased(Sampler.alwaysOn()))
        .addResourceCustomizer((resource, config) -> withSluiceIdentity(resource, stage, instanceId))
        // StageProcess.close() shuts the SDK down after the subtask's last span, from the
        // process's own shutdown hook; a hook of the SDK's could run first and drop those spans.
        .disableShutdownHook()
        .build();
    OpenTelemetrySdk sdk = configured.getOpenTelemetrySdk();
    if (!exporting[0]) {
      sdk.close();
      return OFF;
    }
    LOG.info(instanceId + ": exporting traces (" + described[0] + ")");
    return new StageTracing(sdk.getTracer(SCOPE), sdk);
  }

  /** The settings Sluice supplies when the user did not: see the class comment. */
  private static Map<String, String> sluiceDefaults(ConfigProperties config) {
    Map<String, String> m = new HashMap<>();
    if (config.getString("otel.traces.exporter") == null) {
      boolean endpoint = config.getString("otel.exporter.otlp.endpoint") != null
          || config.getString("otel.exporter.otlp.traces.endpoint") != null;
      m.put("otel.traces.exporter", endpoint ? "otlp" : "none");
    }
    if (config.getString("otel.metrics.exporter") == null) {
      m.put("otel.metrics.exporter", "none");
    }
    if (config.getString("otel.logs.exporter") == null) {
      m.put("otel.logs.exporter", "none");
    }
    return m;
  }

  /** Whether an {@code otel.traces.exporter} list exports traces anywhere. */
  private static boolean exports(String exporters) {
    for (String e : exporters.split(",")) {
      if (!e.isBlank() && !e.trim().equals("none")) {
        return true;
      }
    }
    return false;
  }

  private static Resource withSluiceIdentity(Resource resource, String stage, String instanceId) {
    var b = resource.toBuilder();
    String name = resource.getAttribute(SERVICE_NAME);
    if (name == null || name.startsWith("unknown_service")) {
      b.put(SERVICE_NAME, "sluice-" + stage);
    }
    if (resource.getAttribute(SERVICE_INSTANCE_ID) == null) {
      b.put(SERVICE_INSTANCE_ID, instanceId);
    }
    return b.build();
  }

  /** Whether spans are recorded and exported; when false, stages skip tracing entirely. */
  public boolean enabled() {
    return tracer != null;
  }

  /** The tracer; only when {@link #enabled()}. */
  public Tracer tracer() {
    if (tracer == null) {
      throw new IllegalStateException("tracing is off");
    }
    return tracer;
  }

  /** Exports what the batch processor holds and stops the SDK; waits at most 10 seconds. */
  @Override
  public void close() {
    if (sdk == null) {
      return;
    }
    var done = sdk.shutdown().join(10, TimeUnit.SECONDS);
    if (!done.isSuccess()) {
      LOG.log(Level.WARNING, "tracing: could not export every span before stopping (collector unreachable?)");
    }
  }
}
