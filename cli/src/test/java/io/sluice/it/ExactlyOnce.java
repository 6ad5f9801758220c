package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.sluice.client.SluiceProducer;
import io.sluice.proto.v1.Event;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * The stream and the reference of the exactly-once tests: event i has key {@code k<i mod keys>}
 * and event time T0 + i ms, so every key's events are in order; a tumbling count window's exact
 * result is then a pure function of the events, and a run that lost or repeated anything differs
 * from it.
 */
final class ExactlyOnce {
  static final long T0 = WindowEvents.T0;

  private ExactlyOnce() {}

  /**
   * The pipeline both exactly-once tests run: ingest on a fixed port (a restarted process comes
   * back where the producer reconnects) → keyed 10 s tumbling count, two replicas → file sink.
   */
  static String windowPipeline(String name, String checkpointInterval) {
    return """
        pipeline: %s
        coordinator: {port: {{COORDINATOR_PORT}}}
        heartbeat: {interval: 200ms, timeout: 2s}
        checkpoints: {interval: %s, dir: checkpoints, timeout: 30s}
        stages:
          - name: in
            type: ingest
            port: {{PORT_1}}
            watermark: {maxOutOfOrder: 0s}
          - name: win
            type: window
            from: {stage: in, partition: hash}
            replicas: 2
            window: {tumbling: 10s}
            aggregate: count
          - name: out
            type: file-sink
            from: win
            path: out/counts.jsonl
        """.formatted(name, checkpointInterval);
  }

  static Event event(long i, int keys) {
    return Event.newBuilder()
        .setId("e" + i)
        .setKey(ByteString.copyFromUtf8("k" + (i % keys)))
        .setEventTime(T0 + i)
        .setContentType("application/json")
        .setPayload(ByteString.copyFrom("{\"i\":" + i + "}", StandardCharsets.UTF_8))
        .build();
  }

  /** Expected count per "key@window_start" for events [0, n). */
  static Map<String, Long> reference(long n, int keys, long windowMillis) {
    Map<String, Long> out = new TreeMap<>();
    for (long i = 0; i < n; i++) {
      long t = T0 + i;
      out.merge("k" + (i % keys) + "@" + (t - Math.floorMod(t, windowMillis)), 1L, Long::sum);
    }
    return out;
  }

  /**
   * Sends events [from, to) at about {@code perSecond}, blocking while the producer's unacked
   * buffer is full (that is how a restore holds it back).
   */
  static void send(SluiceProducer producer, long from, long to, int keys, double perSecond)
      throws InterruptedException {
    long start = System.nanoTime();
    for (long i = from; i < to; i++) {
      producer.send(event(i, keys));
      if ((i - from) % 1_000 == 999) {
        long due = start + (long) ((i - from + 1) / perSecond * 1e9);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait); // pacing the test's own producer
        }
      }
    }
    producer.flush();
  }

  /** {@link #send} on a thread of its own; a failure lands in {@code failure}. Started. */
  static Thread sendInBackground(SluiceProducer producer, long from, long to, int keys, double perSecond,
      java.util.concurrent.atomic.AtomicReference<Throwable> failure) {
    Thread sender = new Thread(() -> {
      try {
        send(producer, from, to, keys, perSecond);
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "sender");
    sender.start();
    return sender;
  }

  /** Asserts the committed window results equal the reference: nothing lost, nothing twice. */
  static void assertExact(List<JsonNode> lines, Map<String, Long> reference) {
    Set<String> ids = new HashSet<>();
    Map<String, Long> got = new TreeMap<>();
    Map<String, Integer> repeats = new HashMap<>();
    for (JsonNode line : lines) {
      String id = line.get("id").asText();
      if (!ids.add(id)) {
        repeats.merge(id, 1, Integer::sum);
      }
      String cell = line.get("key").asText() + "@" + line.get("payload").get("window_start").asLong();
      Long before = got.put(cell, line.get("payload").get("count").asLong());
      if (before != null) {
        repeats.merge(cell, 1, Integer::sum);
      }
    }
    assertThat(repeats).as("results committed twice").isEmpty();
    Map<String, Long> missing = new TreeMap<>(reference);
    missing.keySet().removeAll(got.keySet());
    assertThat(missing).as("windows with no committed result").isEmpty();
    Map<String, String> wrong = new TreeMap<>();
    got.forEach((cell, n) -> {
      Long want = reference.get(cell);
      if (!n.equals(want)) {
        wrong.put(cell, "got " + n + ", want " + want);
      }
    });
    assertThat(wrong).as("windows whose count differs from the reference").isEmpty();
  }
}
