package io.sluice.coordinator.control;

import io.grpc.Status;
import io.sluice.coordinator.registry.InstanceRegistry;
import io.sluice.coordinator.routing.RouteComputer;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.RouteUpdate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The open control streams by instance id: commands to one instance, and the pushing of route
 * updates to every instance whose routes changed. The checkpoint and recovery coordinators send
 * their commands through it.
 *
 * <p>Thread-safe: the map is concurrent and each stream serializes its own writes. Nothing
 * blocks: gRPC queues what is written.
 */
public final class CommandBus {
  private static final System.Logger LOG = System.getLogger(CommandBus.class.getName());

  private final InstanceRegistry registry;
  private final RouteComputer routes;
  private final Map<String, OutboundStream> streams = new ConcurrentHashMap<>();

  public CommandBus(InstanceRegistry registry, RouteComputer routes) {
    this.registry = registry;
    this.routes = routes;
  }

  void attach(OutboundStream stream) {
    OutboundStream previous = streams.put(stream.instanceId(), stream);
    if (previous != null && previous != stream) {
      // The index was re-taken after its holder died; the old stream is over for good.
      previous.close(Status.ABORTED.withDescription(
          "instance " + stream.instanceId() + " registered again on another stream; this one is"
              + " no longer used"));
    }
  }

  void detach(OutboundStream stream) {
    streams.remove(stream.instanceId(), stream);
  }

  /** Sends a command to an instance's current stream; false if it has none open. */
  public boolean send(String instanceId, Command command) {
    OutboundStream stream = streams.get(instanceId);
    return stream != null && stream.send(command);
  }

  /**
   * Sends routes issued for one instance; complete routes make a starting instance running. The
   * state changes first, so whoever sees the routes arrive also sees the instance running.
   */
  boolean sendRoutes(OutboundStream stream, RouteUpdate update) {
    if (RouteComputer.complete(update, registry)) {
      registry.markRunning(stream.instanceId(), stream.session());
    }
    return stream.sendRoutes(update);
  }

  /**
   * Issues new routes to every instance whose routes changed and sends them, whether or not
   * routes are held: callers that may run during a restore go through their {@link RouteGate}.
   *
   * @param cause what changed, for the log ("buys-1 registered")
   */
  public void pushRouteChanges(String cause) {
    Map<String, RouteUpdate> changed = routes.issueChanged();
    if (changed.isEmpty()) {
      return;
    }
    List<String> sent = new ArrayList<>();
    long minVersion = Long.MAX_VALUE;
    long maxVersion = 0;
    for (Map.Entry<String, RouteUpdate> e : changed.entrySet()) {
      OutboundStream stream = streams.get(e.getKey());
      if (stream != null && sendRoutes(stream, e.getValue())) {
        sent.add(e.getKey());
        minVersion = Math.min(minVersion, e.getValue().getVersion());
        maxVersion = Math.max(maxVersion, e.getValue().getVersion());
      }
    }
    if (!sent.isEmpty()) {
      String versions = minVersion == maxVersion ? "v" + minVersion : "v" + minVersion + "..v" + maxVersion;
      long epoch = changed.values().iterator().next().getEpoch();
      if (epoch > 0) {
        versions += " (epoch " + epoch + ")";
      }
      LOG.log(System.Logger.Level.INFO, "pushed routes " + versions + " to " + sent.size()
          + " instance(s) " + sent + " after " + cause);
    }
  }

  /** Ends an instance's stream if {@code session} is still the open one. */
  void close(String instanceId, long session, Status status) {
    OutboundStream stream = streams.get(instanceId);
    if (stream != null && stream.session() == session) {
      streams.remove(instanceId, stream);
      stream.close(status);
    }
  }

  /** Ends every stream (coordinator shutdown). */
  void closeAll(Status status) {
    for (OutboundStream stream : List.copyOf(streams.values())) {
      streams.remove(stream.instanceId(), stream);
      stream.close(status);
    }
  }
}
