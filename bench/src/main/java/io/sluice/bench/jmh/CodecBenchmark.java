package io.sluice.bench.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.internal.codec.RecordCodec;
import io.sluice.runtime.partition.KeyGroups;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The per-event costs on the hot path of a stage: wire ↔ record, key groups, batch framing. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CodecBenchmark {
  private Event event;
  private Event jsonEvent;
  private byte[] batchBytes;
  private EventBatch batch;
  private final RecordCodec codec = new RecordCodec("bench-0");

  @Setup
  public void setup() {
    event = Event.newBuilder()
        .setId("producer-1234567")
        .setKey(ByteString.copyFromUtf8("user-4711"))
        .setEventTime(1_767_225_600_000L)
        .setPayload(ByteString.copyFromUtf8("x".repeat(100)))
        .build();
    jsonEvent = event.toBuilder()
        .setPayload(ByteString.copyFromUtf8(
            "{\"user\":\"user-4711\",\"action\":\"purchase\",\"price\":12.5,\"seq\":1234567,\"pad\":\"xxxxxxxxxxxxxxxxxx\"}"))
        .build();
    EventBatch.Builder b = EventBatch.newBuilder();
    for (int i = 0; i < 256; i++) {
      b.addEvents(event.toBuilder().setId("producer-" + i));
    }
    batch = b.build();
    batchBytes = batch.toByteArray();
  }

  /** A pass-through operator's cost: decode to a record, forward it unchanged (no re-encode). */
  @Benchmark
  public Event passThroughBytes() {
    Record<byte[], byte[]> r = codec.decode(event, Serdes.bytes(), Serdes.bytes());
    return codec.encode(r, Serdes.bytes(), Serdes.bytes(), event);
  }

  /** A transforming operator's cost on raw bytes: decode, change the value, encode a new event. */
  @Benchmark
  public Event transformBytes() {
    Record<byte[], byte[]> r = codec.decode(event, Serdes.bytes(), Serdes.bytes());
    return codec.encode(r.withValue(r.value()), Serdes.bytes(), Serdes.bytes(), event);
  }

  /** Decoding a JSON payload into a tree, as filter and map do. */
  @Benchmark
  public Record<String, JsonNode> decodeJson() {
    return codec.decode(jsonEvent, Serdes.string(), Serdes.json());
  }

  /** Hash partitioning: murmur3 of the key and the key group. */
  @Benchmark
  public int keyGroup() {
    return KeyGroups.keyGroup(event.getKey(), 128);
  }

  /** Parsing a 256-event batch, per event (divide by 256). */
  @Benchmark
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public EventBatch parseBatchOf256() throws Exception {
    return EventBatch.parseFrom(batchBytes);
  }

  /** Serializing a 256-event batch, per event (divide by 256). */
  @Benchmark
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public byte[] serializeBatchOf256() {
    return EventBatch.newBuilder().addAllEvents(batch.getEventsList()).build().toByteArray();
  }
}
