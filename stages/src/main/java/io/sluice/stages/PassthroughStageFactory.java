package io.sluice.stages;

import io.sluice.proto.v1.Event;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.internal.task.RawOperator;

/**
 * {@code type: passthrough}: forwards every event unchanged, with byte serdes so that nothing is
 * decoded or re-encoded. The identity stage for benchmarks and for measuring a hop's cost. No
 * settings.
 *
 * <p>Stateless and thread-safe; each operator it makes is confined to its subtask's thread.
 */
public final class PassthroughStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "passthrough";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public StageDefinition<byte[], byte[], byte[], byte[]> create(StageConfig config) {
    return StageDefinition.of(Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Passthrough::new);
  }

  /**
   * Also a {@link RawOperator}: in a stage process the runtime hands it wire events, which it
   * forwards without decoding them into records at all (the test kit still drives the record
   * path, which behaves the same).
   */
  private static final class Passthrough implements Operator<byte[], byte[], byte[], byte[]>, RawOperator {
    @Override
    public boolean isReady() {
      return true; // both Operator and RawOperator say so by default; it never holds input back
    }

    private OperatorContext<byte[], byte[]> context;

    @Override
    public void init(OperatorContext<byte[], byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      // The same object, so the runtime forwards the original bytes.
      context.forward(record);
    }

    @Override
    public void process(Event event, Emitter out) {
      out.emit("", event);
    }

    @Override
    public boolean handlesRawBytes() {
      return true;
    }

    /** The event's bytes go out as they came in: nothing parsed, nothing re-encoded. */
    @Override
    public void processRaw(com.google.protobuf.ByteString event, Emitter out) {
      out.emitRaw("", event);
    }
  }
}
