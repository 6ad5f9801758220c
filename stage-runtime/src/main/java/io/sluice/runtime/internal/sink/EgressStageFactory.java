package io.sluice.runtime.internal.sink;

import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.api.Serdes;

/**
 * The {@code egress} stage type: a sink that clients read with {@code EgressService.Subscribe}.
 *
 * <p>Settings: {@code port} (where clients connect; replica i listens on port + i), {@code buffer}
 * (events kept for subscribers that resume with {@code from_sequence}, default 10000).
 */
public final class EgressStageFactory implements StageFactory {
  public static final String TYPE = "egress";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public Role role() {
    return Role.SINK;
  }

  /** The EgressService of an egress operator made by this factory, bound to its mailbox; else null. */
  public static io.grpc.BindableService serviceFor(Object operator, io.sluice.runtime.internal.task.Mailbox mailbox) {
    return operator instanceof EgressHub hub ? hub.service(mailbox) : null;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    int buffer = config.intValue("buffer", 10_000);
    if (buffer < 0) {
      throw new ConfigException("buffer", "'buffer' must not be negative");
    }
    return StageDefinition.of(
        Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), () -> new EgressHub(buffer));
  }
}
