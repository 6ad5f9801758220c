package io.sluice.cli.grpc;

import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * Opens the plaintext gRPC channels the commands use to reach a coordinator or a stage on the local
 * network. Thread-safe (stateless).
 */
public final class Channels {
  /** Larger than any response the CLI reads (a status of a big pipeline, an egress batch). */
  private static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024 * 1024;

  private Channels() {}

  /**
   * A channel to {@code target}. Responses are handled on the transport thread ({@code
   * directExecutor()}): every CLI callback only records a value and wakes a waiting thread, so a
   * thread hop per message would only cost.
   */
  public static ManagedChannel open(HostAndPort target) {
    return NettyChannelBuilder.forAddress(target.getHost(), target.getPort())
        .usePlaintext()
        .directExecutor()
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .build();
  }

  /** Shuts the channel down and waits briefly; the CLI is about to exit anyway. */
  public static void close(ManagedChannel channel) {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
