package io.sluice.cli.send;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.sluice.cli.CliRunner;
import io.sluice.proto.v1.Event;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SendCommandTest {
  @TempDir Path dir;
  private RecordingIngest ingest;

  @BeforeEach
  void setUp() throws Exception {
    ingest = new RecordingIngest();
  }

  @AfterEach
  void tearDown() {
    ingest.close();
  }

  @Test
  void aFileIsSentAckedAndSummarized() throws Exception {
    Path file = dir.resolve("events.jsonl");
    Files.write(
        file,
        List.of(
            "{\"id\": \"e1\", \"key\": \"user-7\", \"time\": 1767225600000, \"payload\": {\"a\":"
                + " 1}}",
            "",
            "{\"id\": \"e2\", \"key\": \"user-8\", \"time\": \"2026-01-01T00:00:01Z\", \"payload\":"
                + " {}}"),
        StandardCharsets.UTF_8);

    CliRunner.Result r =
        CliRunner.run("send", "--to", ingest.target(), "--file", file.toString(), "--quiet");

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("sent 2 events in")
        .contains("acked through 2; 0 duplicates dropped");
    List<Event> got = ingest.events();
    assertThat(got).extracting(Event::getId).containsExactly("e1", "e2");
    assertThat(got.get(1).getEventTime()).isEqualTo(1_767_225_601_000L);
    assertThat(got.get(0).getKey().toStringUtf8()).isEqualTo("user-7");
  }

  @Test
  void aBadLineStopsSendingExitsTwoAndEverythingBeforeItIsAcked() throws Exception {
    Path file = dir.resolve("events.jsonl");
    Files.write(
        file,
        List.of(
            "{\"id\": \"e1\", \"key\": \"k\", \"time\": 1, \"payload\": {}}",
            "{\"id\": \"e2\", \"key\": \"k\", \"time\": 2, \"payload\": {}}",
            "{\"id\": \"e3\", \"key\": \"k\", \"time\": 3, \"payload\": {}}",
            "{\"id\": \"e4\", \"key\": \"k\", \"time\": 4, \"payload\": {",
            "{\"id\": \"e5\", \"key\": \"k\", \"time\": 5, \"payload\": {}}"),
        StandardCharsets.UTF_8);

    CliRunner.Result r =
        CliRunner.run("send", "--to", ingest.target(), "--file", file.toString(), "--quiet");

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains(file + ":4: ").contains("acked (through sequence 3)");
    assertThat(r.out()).contains("sent 3 events").contains("acked through 3");
    assertThat(ingest.events()).extracting(Event::getId).containsExactly("e1", "e2", "e3");
    assertThat(ingest.clientHalfClosed()).isTrue();
  }

  @Test
  void generatedEventsAreSentInBatches() {
    CliRunner.Result r =
        CliRunner.run(
            "send",
            "--to",
            ingest.target(),
            "--generate",
            "1000",
            "--batch",
            "100",
            "--producer",
            "gen",
            "--seed",
            "5",
            "--keys",
            "10",
            "--quiet");

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("sent 1000 events").contains("acked through 1000");
    EventGenerator reference = new EventGenerator("gen", 5, 10, 100);
    List<Event> got = ingest.events();
    assertThat(got).hasSize(1000);
    assertThat(got.get(999)).isEqualTo(reference.event(1000));
    assertThat(ingest.firstSequences()).hasSize(10).startsWith(1L, 101L);
  }

  @Test
  void anIngestErrorPrintsTheStatusAndExitsOne() {
    ingest.failWhen((n, req) -> Status.INVALID_ARGUMENT.withDescription("event 1 has no payload"));

    CliRunner.Result r =
        CliRunner.run("send", "--to", ingest.target(), "--generate", "10", "--quiet");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("INVALID_ARGUMENT: event 1 has no payload");
    assertThat(r.err()).contains("acked through sequence 0");
  }

  @Test
  void nothingListeningIsUnavailableWithAHint() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free once closed: nothing listens there
    }

    // UNAVAILABLE is retried now (an ingest may be restarting): --ack-timeout bounds the retries.
    CliRunner.Result r =
        CliRunner.run(
            "send", "--to", "127.0.0.1:" + port, "--generate", "10", "--quiet", "--ack-timeout", "1");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err())
        .contains("UNAVAILABLE")
        .contains("gave up after")
        .contains("running and reachable")
        .contains("reconnects");
  }

  @Test
  void aBrokenStreamIsResentAndTheSummarySaysSo() {
    ingest.failWhen(
        (n, req) -> n == 2 ? Status.UNAVAILABLE.withDescription("restoring checkpoint 4") : null);

    CliRunner.Result r =
        CliRunner.run(
            "send", "--to", ingest.target(), "--generate", "1000", "--batch", "100", "--quiet");

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("sent 1000 events")
        .contains("acked through 1000")
        .contains("1 reconnects");
    assertThat(ingest.events()).hasSize(1000);
  }

  @Test
  void badUsageExitsTwo() {
    assertThat(CliRunner.run("send", "--to", ingest.target()).exitCode()).isEqualTo(2);
    assertThat(
            CliRunner.run("send", "--to", ingest.target(), "--generate", "1", "--file", "x")
                .exitCode())
        .isEqualTo(2);
    assertThat(CliRunner.run("send", "--to", "no-port", "--generate", "1").exitCode()).isEqualTo(2);
    CliRunner.Result missing =
        CliRunner.run(
            "send", "--to", ingest.target(), "--file", dir.resolve("nope.jsonl").toString());
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.err()).contains("cannot read");
    assertThat(
            CliRunner.run("send", "--to", ingest.target(), "--generate", "1", "--batch", "0")
                .exitCode())
        .isEqualTo(2);
    CliRunner.Result small =
        CliRunner.run(
            "send", "--to", ingest.target(), "--generate", "1", "--batch", "10",
            "--max-unacked", "5");
    assertThat(small.exitCode()).isEqualTo(2);
    assertThat(small.err()).contains("--max-unacked (5) must be at least --batch (10)");
    assertThat(ingest.received()).isZero();
  }
}
