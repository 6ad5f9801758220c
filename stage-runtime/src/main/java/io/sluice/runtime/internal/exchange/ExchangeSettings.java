package io.sluice.runtime.internal.exchange;

import io.sluice.runtime.api.StageConfig;
import java.time.Duration;

/**
 * The knobs that bound memory and shape batches on the data plane. Immutable.
 *
 * <p>The bound on bytes in flight per hop (one Exchange stream) is: the receiver's HTTP/2 window
 * ({@code flowControlWindow}, fixed, no BDP auto-tuning) of serialized bytes not yet handed to the
 * receiver, plus {@code credits} parsed frames queued in the receiver's inbox, plus on the sender
 * the bytes gRPC queues before {@code isReady()} turns false ({@code onReadyThreshold}) and what the
 * subtask emits while it finishes the input batch in hand (at most one batch per output channel per
 * input event). See docs/backpressure.md.
 *
 * @param flowControlWindow HTTP/2 stream and connection window in bytes
 * @param onReadyThreshold bytes queued on a sending stream before it stops being ready
 * @param credits frames an input channel may queue (messages requested ahead)
 * @param maxMessageBytes largest frame accepted; larger get RESOURCE_EXHAUSTED
 * @param batchMaxEvents flush a batch at this many events
 * @param batchMaxBytes flush a batch at about this many bytes
 * @param batchLinger flush a non-empty batch after this long
 */
public record ExchangeSettings(
    int flowControlWindow,
    int onReadyThreshold,
    int credits,
    int maxMessageBytes,
    int batchMaxEvents,
    int batchMaxBytes,
    Duration batchLinger) {

  public static final ExchangeSettings DEFAULTS =
      new ExchangeSettings(
          1024 * 1024, 256 * 1024, 8, 4 * 1024 * 1024, 256, 64 * 1024, Duration.ofMillis(5));

  public ExchangeSettings {
    if (flowControlWindow < 65_535) {
      throw new IllegalArgumentException("flowControlWindow must be at least 65535 bytes");
    }
    if (credits < 1 || batchMaxEvents < 1 || batchMaxBytes < 1 || onReadyThreshold < 1) {
      throw new IllegalArgumentException("credits and batch limits must be positive");
    }
    if (batchMaxBytes >= maxMessageBytes) {
      throw new IllegalArgumentException("batchMaxBytes must be below maxMessageBytes");
    }
  }

  /** The defaults overridden by a stage's {@code exchange:} and {@code batch:} settings. */
  public static ExchangeSettings from(StageConfig config) {
    ExchangeSettings d = DEFAULTS;
    return new ExchangeSettings(
        config.intValue("exchange.window", d.flowControlWindow),
        config.intValue("exchange.onReadyThreshold", d.onReadyThreshold),
        config.intValue("exchange.credits", d.credits),
        config.intValue("exchange.maxMessageBytes", d.maxMessageBytes),
        config.intValue("batch.maxEvents", d.batchMaxEvents),
        config.intValue("batch.maxBytes", d.batchMaxBytes),
        config.duration("batch.linger", d.batchLinger));
  }
}
