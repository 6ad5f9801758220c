package io.sluice.cli.send;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Synthetic click events, fully determined by (producer id, seed, key count, payload size) and the
 * event's 1-based number {@code i}, so a test or benchmark can recompute any event, and so the
 * expected result of a pipeline, without keeping what was sent.
 *
 * <p>Event {@code i} has id {@code "<producer>-<i>"}, key {@code "user-<k>"} with {@code k} in
 * {@code [0, keys)}, event time {@link #BASE_EPOCH_MILLIS}{@code + i}, and a JSON payload of about
 * {@code payloadBytes} bytes: {@code {"user": key, "action": one of ACTIONS, "price": a number with
 * two decimals, "seq": i, "pad": "xxx…"}}. The random choices for {@code i} come from a {@link
 * SplittableRandom} seeded with {@code seed} and {@code i} alone, so event {@code i} does not
 * depend on the events before it and is the same on every JVM.
 *
 * <p>Immutable and thread-safe.
 */
public final class EventGenerator {
  /** 2026-01-01T00:00:00Z: event {@code i} happens at this instant plus {@code i} ms. */
  public static final long BASE_EPOCH_MILLIS = 1_767_225_600_000L;

  /** The actions, drawn uniformly: so "view" 3/5, "click" 1/5, "purchase" 1/5 of the time. */
  public static final List<String> ACTIONS = List.of("view", "click", "purchase", "view", "view");

  public static final int DEFAULT_KEYS = 1000;
  public static final int DEFAULT_PAYLOAD_BYTES = 100;

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
  private static final JsonFactory JSON = new JsonFactory();
  // `,"pad":""` — what the pad field costs besides its x's.
  private static final int PAD_OVERHEAD = 9;

  /**
   * One generated event's fields, before encoding. Immutable.
   *
   * @param sequence the event's number, from 1
   * @param id {@code "<producer>-<sequence>"}
   * @param key {@code "user-<k>"}
   * @param time event time, epoch millis
   * @param action one of {@link #ACTIONS}
   * @param price a positive amount with exactly two decimals
   */
  public record GeneratedEvent(
      long sequence, String id, String key, long time, String action, BigDecimal price) {}

  private final String producerId;
  private final long seed;
  private final int keys;
  private final int payloadBytes;

  /**
   * @param producerId used in event ids
   * @param seed any value; the same seed gives the same events
   * @param keys how many distinct keys ({@code user-0 .. user-<keys-1>})
   * @param payloadBytes the payload's approximate size; payloads are never smaller than their
   *     fields need (about 60 bytes)
   */
  public EventGenerator(String producerId, long seed, int keys, int payloadBytes) {
    this.producerId = Objects.requireNonNull(producerId, "producerId");
    if (keys < 1) {
      throw new IllegalArgumentException("keys must be at least 1, got " + keys);
    }
    if (payloadBytes < 0) {
      throw new IllegalArgumentException("payloadBytes must be >= 0, got " + payloadBytes);
    }
    this.seed = seed;
    this.keys = keys;
    this.payloadBytes = payloadBytes;
  }

  public String producerId() {
    return producerId;
  }

  public long seed() {
    return seed;
  }

  public int keys() {
    return keys;
  }

  public int payloadBytes() {
    return payloadBytes;
  }

  /** The fields of event {@code i} (1-based), without encoding it. */
  public GeneratedEvent describe(long i) {
    if (i < 1) {
      throw new IllegalArgumentException("events are numbered from 1, got " + i);
    }
    // Seeded by (seed, i) alone: SplittableRandom mixes its seed, so neighbouring i give
    // unrelated streams; and its algorithm is fixed, so results match across JVMs.
    SplittableRandom random = new SplittableRandom(seed * GOLDEN_GAMMA + i);
    int user = random.nextInt(keys);
    String action = ACTIONS.get(random.nextInt(ACTIONS.size()));
    long cents = 100 + random.nextInt(99_900); // 1.00 .. 999.99
    return new GeneratedEvent(
        i,
        producerId + "-" + i,
        "user-" + user,
        BASE_EPOCH_MILLIS + i,
        action,
        BigDecimal.valueOf(cents, 2));
  }

  /** Event {@code i} (1-based) as it is sent. */
  public Event event(long i) {
    GeneratedEvent g = describe(i);
    return Event.newBuilder()
        .setId(g.id())
        .setKey(ByteString.copyFrom(g.key(), StandardCharsets.UTF_8))
        .setEventTime(g.time())
        .setContentType("application/json")
        .setPayload(ByteString.copyFrom(payload(g)))
        .build();
  }

  /** The JSON payload of a generated event. */
  public byte[] payload(GeneratedEvent g) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, payloadBytes + 16));
    try (JsonGenerator json = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      json.writeStartObject();
      json.writeStringField("user", g.key());
      json.writeStringField("action", g.action());
      json.writeNumberField("price", g.price());
      json.writeNumberField("seq", g.sequence());
      json.flush();
      // The closing brace is still to come: +1.
      int padding = payloadBytes - (out.size() + 1) - PAD_OVERHEAD;
      if (padding > 0) {
        json.writeStringField("pad", "x".repeat(padding));
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot happen: writing to memory", e);
    }
    return out.toByteArray();
  }

  /** Events {@code 1..count}, as a source for {@link Publisher}. */
  public EventSource source(long count) {
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    return new EventSource() {
      private long next = 1;

      @Override
      public Event next() {
        return next <= count ? event(next++) : null;
      }
    };
  }
}
