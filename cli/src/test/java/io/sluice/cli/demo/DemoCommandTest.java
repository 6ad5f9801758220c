package io.sluice.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.cli.local.LocalLauncher;
import io.sluice.cli.send.EventGenerator;
import io.sluice.coordinator.spec.PipelineSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's parts that need no processes: its spec, the reference and reading the sink. */
class DemoCommandTest {
  @TempDir Path dir;

  @Test
  void theShippedSpecIsValidWithTheStagesTheDemoDescribes() throws Exception {
    Path spec = dir.resolve("demo.yaml");
    Files.writeString(spec, DemoCommand.specText());

    PipelineSpec p = LocalLauncher.validate(spec);

    assertThat(p.stageNames()).containsExactly("in", "buys", "per-user", "out");
    assertThat(p.stage("per-user").orElseThrow().replicas()).isEqualTo(2);
    assertThat(p.stage("out").orElseThrow().type()).isEqualTo("file-sink");
  }

  @Test
  void finalCountsAreTheLargestRunningCountPerKeyAcrossReplicaFiles() throws Exception {
    Path out = dir.resolve("out");
    Files.createDirectories(out);
    Files.write(
        out.resolve("per-user.jsonl"),
        List.of(
            "{\"id\":\"a\",\"key\":\"user-1\",\"time\":1,\"payload\":{\"count\":1}}",
            "{\"id\":\"b\",\"key\":\"user-1\",\"time\":2,\"payload\":{\"count\":2}}",
            ""),
        StandardCharsets.UTF_8);
    Files.write(
        out.resolve("per-user-1.jsonl"),
        List.of("{\"id\":\"c\",\"key\":\"user-2\",\"time\":3,\"payload\":{\"count\":1}}"),
        StandardCharsets.UTF_8);
    Files.write(
        out.resolve("per-user-old.jsonl"), List.of("not a sink file"), StandardCharsets.UTF_8);

    assertThat(DemoCommand.finalCounts(out.resolve("per-user.jsonl")))
        .isEqualTo(Map.of("user-1", 2L, "user-2", 1L));
  }

  @Test
  void theReferenceCountsPurchasesPerUser() {
    EventGenerator gen = new EventGenerator("demo", 42, 100, 100);
    Map<String, Long> reference = DemoCommand.reference(gen, 5_000);

    long purchases = 0;
    for (long i = 1; i <= 5_000; i++) {
      if (gen.describe(i).action().equals("purchase")) {
        purchases++;
      }
    }
    assertThat(reference.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(purchases);
    assertThat(reference.keySet()).allMatch(k -> k.matches("user-\\d{1,2}"));
  }
}
