package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.sluice.cli.local.LocalProcess;
import io.sluice.cli.send.EventGenerator;
import io.sluice.cli.send.PublishSummary;
import io.sluice.cli.send.Publisher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Must-be-true 4: a replica of a stateless stage added while events flow starts receiving without
 * a restart of anything else, and nothing is lost or duplicated.
 */
@Tag("integration")
class ScaleOutIT {
  static final long EVENTS = 200_000;

  @Test
  void addedReplicaReceivesWithoutRestartAndNothingIsLost(@TempDir Path dir) throws Exception {
    String yaml = """
        pipeline: scale
        coordinator: {port: {{COORDINATOR_PORT}}}
        stages:
          - name: in
            type: ingest
          - name: relay
            type: passthrough
            from: in
          - name: out
            type: file-sink
            from: relay
            path: out/all.jsonl
        """;
    EventGenerator gen = new EventGenerator("scale", 3, 100, 100);
    try (Mesh mesh = Mesh.start(dir, yaml, Mesh.defaultJvm())) {
      mesh.awaitRunning(Duration.ofSeconds(60));
      Map<String, Long> pidsBefore = pids(mesh);

      ManagedChannel ch = mesh.channelTo("in", 0);
      // 20,000 events/s for ten seconds: the replica joins while they flow.
      Publisher publisher = new Publisher(ch, Publisher.Options.defaults("scale").withRate(20_000));
      CompletableFuture<PublishSummary> sending = CompletableFuture.supplyAsync(() -> {
        try {
          return publisher.publish(gen.source(EVENTS));
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      mesh.launcher.awaitStatus(s -> mesh.instance("relay", 0).getRecordsIn() > 0, Duration.ofSeconds(30));

      mesh.launcher.startReplica("relay", 1);
      mesh.launcher.awaitStatus(
          s -> mesh.findInstance("relay", 1).map(i -> i.getRecordsIn() > 0).orElse(false),
          Duration.ofSeconds(30));
      assertThat(sending).as("the replica joined while events were still flowing").isNotDone();

      PublishSummary sent = sending.get(2, TimeUnit.MINUTES);
      ch.shutdownNow();
      assertThat(sent.ackedThrough()).isEqualTo(EVENTS);
      assertThat(pids(mesh)).as("no process was restarted").containsAllEntriesOf(pidsBefore);
      long relay1 = mesh.instance("relay", 1).getRecordsIn();
      mesh.drain(Duration.ofMinutes(2));

      List<String> expected = new ArrayList<>();
      for (long i = 1; i <= EVENTS; i++) {
        expected.add(gen.describe(i).id());
      }
      assertThat(FanOutFanInIT.ids(mesh.readSink("out/all.jsonl"))).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(relay1).isPositive();
    }
  }

  private static Map<String, Long> pids(Mesh mesh) {
    Map<String, Long> m = new HashMap<>();
    for (LocalProcess p : mesh.launcher.processes()) {
      m.put(p.instance(), p.pid());
    }
    return m;
  }
}
