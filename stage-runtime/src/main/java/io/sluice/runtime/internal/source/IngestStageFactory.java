package io.sluice.runtime.internal.source;

import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.api.Serdes;

/**
 * The {@code ingest} stage type: a source that serves {@code IngestService.Publish} to clients.
 *
 * <p>Settings: {@code port} (where clients connect; replica i listens on port + i), {@code
 * maxRate} (events/s), {@code watermark: {maxOutOfOrder, idleTimeout, interval, maxDrift}} (see
 * {@link WatermarkSettings}).
 */
public final class IngestStageFactory implements StageFactory {
  public static final String TYPE = "ingest";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Role role() {
    return Role.SOURCE;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    WatermarkSettings.from(config);
    io.sluice.runtime.internal.trace.TraceOrigin.validate(config);
    double maxRate = config.doubleValue("maxRate", 0);
    if (maxRate < 0) {
      throw new io.sluice.runtime.api.ConfigException("maxRate", "'maxRate' must not be negative");
    }
    return StageDefinition.of(
        Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), PassThrough::new);
  }

  /** What ingest does to each event a client publishes: nothing but pass it on. */
  static final class PassThrough implements Operator<byte[], byte[], byte[], byte[]> {
    private OperatorContext<byte[], byte[]> context;

    @Override
    public void init(OperatorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      context.forward(record);
    }
  }
}
