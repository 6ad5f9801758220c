package io.sluice.stages.count;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.partition.KeyGroups;
import io.sluice.runtime.testkit.OperatorTestDriver;
import io.sluice.runtime.testkit.OperatorTestDriver.Snapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The count stage's counts survive a restore, at the same parallelism or another. */
class CountCheckpointTest {
  private static final String STAGE = "per-user";

  @Property(tries = 200)
  void countsGoOnAfterARestoreAtAnyParallelism(
      @ForAll @Size(max = 80) List<@IntRange(min = 0, max = 11) Integer> keys,
      @ForAll @IntRange(min = 0, max = 80) int cutAt,
      @ForAll @IntRange(min = 1, max = 3) int before,
      @ForAll @IntRange(min = 1, max = 4) int after) {
    int cut = Math.min(cutAt, keys.size());
    assertThat(run(keys, cut, before, after)).isEqualTo(run(keys, keys.size(), 1, 1));
  }

  @Test
  void aKeysCountMovesWithItsKeyGroup() {
    var a = driver(0, 2);
    var b = driver(1, 2);
    // Two keys that two instances split between them.
    String onA = key(0, 2);
    String onB = key(1, 2);
    a.pipeRawInput(utf8(onA), utf8("{}"), 1);
    a.pipeRawInput(utf8(onA), utf8("{}"), 2);
    b.pipeRawInput(utf8(onB), utf8("{}"), 3);
    List<Snapshot> snapshots = List.of(a.snapshot(5), b.snapshot(5));
    try (var only = OperatorTestDriver.<String, byte[], String, JsonNode>restore(
        new CountStageFactory(), config(STAGE, "{}"), 0, 1, snapshots)) {
      only.pipeRawInput(utf8(onA), utf8("{}"), 4);
      only.pipeRawInput(utf8(onB), utf8("{}"), 5);
      assertThat(only.readOutputs()).extracting(r -> r.key() + "=" + r.value().get("count"))
          .containsExactly(onA + "=3", onB + "=2");
    }
  }

  /** Counts per key, as "id:count", from a run cut (snapshot, restore) before input {@code cut}. */
  private static Map<String, List<String>> run(List<Integer> keys, int cut, int before, int after) {
    Map<String, List<String>> out = new TreeMap<>();
    List<OperatorTestDriver<String, byte[], String, JsonNode>> drivers = drivers(before, List.of());
    for (int i = 0; i <= keys.size(); i++) {
      if (i == cut) {
        List<Snapshot> snapshots = new ArrayList<>();
        for (var d : drivers) {
          snapshots.add(d.snapshot(1));
        }
        drivers = drivers(after, snapshots);
      }
      if (i == keys.size()) {
        break;
      }
      String key = "user-" + keys.get(i);
      var d = drivers.get(owner(key, drivers.size()));
      d.pipeInput(new Record<>("e" + i, key, utf8("{}"), i, Map.of(), null));
      for (Record<String, JsonNode> r : d.readOutputs()) {
        out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.id() + ":" + r.value().get("count"));
      }
    }
    return out;
  }

  private static List<OperatorTestDriver<String, byte[], String, JsonNode>> drivers(int parallelism, List<Snapshot> from) {
    List<OperatorTestDriver<String, byte[], String, JsonNode>> drivers = new ArrayList<>();
    for (int i = 0; i < parallelism; i++) {
      drivers.add(from.isEmpty()
          ? driver(i, parallelism)
          : OperatorTestDriver.restore(new CountStageFactory(), config(STAGE, "{}"), i, parallelism, from));
    }
    return drivers;
  }

  private static OperatorTestDriver<String, byte[], String, JsonNode> driver(int index, int parallelism) {
    return OperatorTestDriver.<String, byte[], String, JsonNode>forStage(new CountStageFactory(), config(STAGE, "{}"), index)
        .parallelism(parallelism);
  }

  private static int owner(String key, int parallelism) {
    int group = KeyGroups.keyGroup(utf8(key), KeyGroups.DEFAULT_MAX_PARALLELISM);
    return KeyGroups.instanceFor(group, parallelism, KeyGroups.DEFAULT_MAX_PARALLELISM);
  }

  /** A key that instance {@code index} of {@code parallelism} owns. */
  private static String key(int index, int parallelism) {
    for (int i = 0; ; i++) {
      if (owner("user-" + i, parallelism) == index) {
        return "user-" + i;
      }
    }
  }
}
