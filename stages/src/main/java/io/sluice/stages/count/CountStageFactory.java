package io.sluice.stages.count;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import io.sluice.runtime.api.StateRestore;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.stages.internal.StateBytes;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code type: count}: a keyed running count. For every input it emits a record with the same key
 * (and id, attributes, trace context and event time) and the payload {@code {"count": N}}, N being
 * the number of events with that key this instance has seen. No settings. Feed it through a
 * {@code partition: hash} edge so that each key is counted by one instance.
 *
 * <p>The input payload is not read, so it is taken as raw bytes: any event counts, JSON or not.
 * Keys are UTF-8 strings; results are JSON.
 *
 * <p>Checkpoints: each key's count is keyed state (a format-version byte and the count as a {@code
 * long}), so after a restore, at the same or another parallelism, the instance that owns the key
 * counts on from where it was.
 *
 * <p>Stateless and thread-safe; each operator it makes keeps its counts confined to its subtask's
 * thread.
 */
public final class CountStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "count";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public boolean stateful() {
    return true;
  }

  @Override
  public StageDefinition<String, byte[], String, JsonNode> create(StageConfig config) {
    return StageDefinition.of(Serdes.string(), Serdes.bytes(), Serdes.string(), Serdes.json(), CountOperator::new);
  }

  /** Counts per key in memory; each count is checkpointed as keyed state. */
  static final class CountOperator implements Operator<String, byte[], String, JsonNode> {
    private static final int STATE_VERSION = 1;

    private final Map<String, Long> counts = new HashMap<>();
    private OperatorContext<String, JsonNode> context;

    @Override
    public void init(OperatorContext<String, JsonNode> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, byte[]> record) {
      long n = counts.merge(record.key(), 1L, Long::sum);
      context.forward(record.withValue(JsonNodeFactory.instance.objectNode().put("count", n)));
    }

    @Override
    public void snapshotState(StateSnapshot<String> snapshot) {
      for (Map.Entry<String, Long> e : counts.entrySet()) {
        long n = e.getValue();
        snapshot.putKeyed(e.getKey(), StateBytes.write(STATE_VERSION, out -> out.writeLong(n)));
      }
    }

    @Override
    public void restoreState(StateRestore<String> restore) {
      String where = "count " + context.instanceId() + ", checkpoint " + restore.checkpointId() + ", key '";
      restore.forEachKeyed((key, bytes) ->
          counts.put(key, StateBytes.read(bytes, STATE_VERSION, where + key + "'", (in, version) -> in.readLong())));
    }
  }
}
