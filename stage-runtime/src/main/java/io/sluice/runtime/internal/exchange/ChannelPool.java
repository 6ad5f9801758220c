package io.sluice.runtime.internal.exchange;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.sluice.proto.v1.Endpoint;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/2 connection per downstream endpoint, shared by every Exchange stream to it. The
 * flow-control window is fixed (no BDP auto-tuning) so the bytes in flight have a known bound.
 *
 * <p>Threading: confined to the subtask thread (routes are applied there); {@link #close} after it stopped.
 */
public final class ChannelPool implements AutoCloseable {
  private final ExchangeSettings settings;
  private final Map<String, ManagedChannel> channels = new HashMap<>();

  public ChannelPool(ExchangeSettings settings) {
    this.settings = settings;
  }

  public ManagedChannel get(Endpoint endpoint) {
    return channels.computeIfAbsent(
        endpoint.getHost() + ":" + endpoint.getPort(),
        k ->
            NettyChannelBuilder.forAddress(endpoint.getHost(), endpoint.getPort())
                .usePlaintext()
                .flowControlWindow(settings.flowControlWindow())
                .maxInboundMessageSize(settings.maxMessageBytes())
                // Callbacks only wake the subtask: no thread hop per message.
                .directExecutor()
                .build());
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels.values()) {
      c.shutdown();
    }
    for (ManagedChannel c : channels.values()) {
      try {
        if (!c.awaitTermination(5, TimeUnit.SECONDS)) {
          c.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        c.shutdownNow();
      }
    }
    channels.clear();
  }
}
