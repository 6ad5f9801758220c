package io.sluice.runtime.internal.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.internal.trace.TraceOrigin;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordCodecTest {
  private final RecordCodec codec = new RecordCodec("op-0");
  private final TraceContext trace = new TraceOrigin(1.0, 42).newRoot();

  private List<Event> events() {
    Event base = Event.newBuilder().setId("p-1").setKey(ByteString.copyFromUtf8("user-7"))
        .setEventTime(1_767_225_600_000L).setPayload(ByteString.copyFromUtf8("{\"a\":1}"))
        .setContentType("application/json").build();
    return List.of(
        base,
        base.toBuilder().setTrace(trace).build(),
        base.toBuilder().clearKey().clearContentType().build(),
        base.toBuilder().putAttributes("tenant", "acme").setTrace(trace).build(),
        Event.newBuilder().build());
  }

  @Test
  void decodingTheWireFormGivesTheSameRecordAsDecodingTheParsedEvent() throws Exception {
    for (Event e : events()) {
      Record<String, byte[]> fromWire = codec.decode(e.toByteString(), Serdes.string(), Serdes.bytes());
      Record<String, byte[]> fromEvent = codec.decode(e, Serdes.string(), Serdes.bytes());
      assertThat(fromWire.id()).isEqualTo(fromEvent.id());
      assertThat(fromWire.key()).isEqualTo(fromEvent.key());
      assertThat(fromWire.value()).isEqualTo(fromEvent.value());
      assertThat(fromWire.timestamp()).isEqualTo(fromEvent.timestamp());
      assertThat(fromWire.attributes()).isEqualTo(fromEvent.attributes());
      assertThat(fromWire.trace()).isEqualTo(fromEvent.trace());
    }
  }

  @Test
  void anUnchangedRecordGoesOutAsTheBytesItCameInAs() throws Exception {
    for (Event e : events()) {
      ByteString wire = e.toByteString();
      Record<String, byte[]> r = codec.decode(wire, Serdes.string(), Serdes.bytes());
      Object out = codec.encodeOrForward(r, Serdes.string(), Serdes.bytes(), () -> {
        throw new AssertionError("the input must not be parsed for an unchanged record");
      });
      if (e.getAttributesCount() == 0) {
        assertThat(out).isSameAs(wire);
      } else {
        assertThat(out).isEqualTo(e); // parsed in full because of its attributes
      }
    }
  }

  @Test
  void aChangedRecordKeepsItsIdAndInheritsTheTraceFromTheWireWithoutParsingTheInput() throws Exception {
    Event e = events().get(1);
    Record<String, byte[]> r = codec.decode(e.toByteString(), Serdes.string(), Serdes.bytes());
    Object out = codec.encodeOrForward(r.withValue("changed".getBytes()), Serdes.string(), Serdes.bytes(), () -> {
      throw new AssertionError("not needed: the record has an id and a trace source");
    });
    Event encoded = (Event) out;
    assertThat(encoded.getId()).isEqualTo("p-1");
    assertThat(encoded.getTrace()).isEqualTo(trace);
    assertThat(encoded.getPayload().toStringUtf8()).isEqualTo("changed");
    assertThat(encoded.getKey().toStringUtf8()).isEqualTo("user-7");
  }

  @Test
  void aNewRecordWithoutIdDerivesOneFromTheInput() {
    Event input = events().get(1);
    Event encoded = codec.encode(new Record<>("k", "v".getBytes(), 5L), Serdes.string(), Serdes.bytes(), input);
    assertThat(encoded.getId()).isEqualTo("p-1/op-0");
    assertThat(encoded.getTrace()).isEqualTo(trace);
  }

  @Test
  void badBytesAndBadPayloadsAreReported() {
    assertThatThrownBy(() -> codec.decode(ByteString.copyFrom(new byte[] {0x0a, 0x7f}), Serdes.string(), Serdes.bytes()))
        .isInstanceOf(com.google.protobuf.InvalidProtocolBufferException.class);
    Event notJson = events().get(0).toBuilder().setPayload(ByteString.copyFromUtf8("{nope")).build();
    assertThatThrownBy(() -> codec.decode(notJson.toByteString(), Serdes.string(), Serdes.json()))
        .isInstanceOf(SerdeException.class).hasMessageContaining("malformed JSON payload");
  }

  @Test
  void decodingInPlaceFromABatchArrayAgreesWithProtobuf() throws Exception {
    java.util.List<Event> all = new java.util.ArrayList<>(events());
    // Unknown fields of every wire type, and a huge event time, are read past like protobuf does.
    all.add(Event.parseFrom(events().get(1).toBuilder().setEventTime(Long.MAX_VALUE).build().toByteString()
        .concat(ByteString.copyFrom(new byte[] {(byte) 0x80, 0x01, 0x05, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2, 3, 4}))));
    for (Event e : all) {
      byte[] wire = e.toByteArray();
      byte[] batch = new byte[wire.length + 7];
      System.arraycopy(wire, 0, batch, 3, wire.length);
      Record<String, com.fasterxml.jackson.databind.JsonNode> inPlace =
          codec.decode(batch, 3, wire.length, Serdes.string(), jsonOrNull(e));
      Record<String, com.fasterxml.jackson.databind.JsonNode> parsed =
          codec.decode(e.toByteString(), Serdes.string(), jsonOrNull(e));
      assertThat(inPlace.id()).isEqualTo(e.getId());
      assertThat(inPlace.key()).isEqualTo(parsed.key());
      assertThat(inPlace.value()).isEqualTo(parsed.value());
      assertThat(inPlace.timestamp()).isEqualTo(e.getEventTime());
      assertThat(inPlace.attributes()).isEqualTo(e.getAttributesMap());
      assertThat(inPlace.trace()).isEqualTo(parsed.trace());
    }
    // Truncated: every proper prefix of an event that cuts a field is an error, as in protobuf.
    byte[] wire = events().get(1).toByteArray();
    for (int cut = 1; cut < wire.length; cut++) {
      boolean protobufFails;
      try {
        Event.parseFrom(java.util.Arrays.copyOf(wire, cut));
        protobufFails = false;
      } catch (com.google.protobuf.InvalidProtocolBufferException expected) {
        protobufFails = true;
      }
      int n = cut;
      if (protobufFails) {
        assertThatThrownBy(() -> codec.decode(wire, 0, n, Serdes.string(), Serdes.bytes()))
            .as("prefix of %d bytes", n)
            .isInstanceOf(com.google.protobuf.InvalidProtocolBufferException.class);
      }
    }
  }

  /** JSON for events whose payload is JSON, else a serde that reads any bytes as a JSON string. */
  private static io.sluice.runtime.api.Serde<com.fasterxml.jackson.databind.JsonNode> jsonOrNull(Event e) {
    return e.getPayload().isEmpty()
        ? new io.sluice.runtime.api.Serde<>() {
          @Override
          public byte[] serialize(com.fasterxml.jackson.databind.JsonNode value) {
            return new byte[0];
          }

          @Override
          public com.fasterxml.jackson.databind.JsonNode deserialize(byte[] bytes) {
            return com.fasterxml.jackson.databind.node.TextNode.valueOf(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
          }
        }
        : Serdes.json();
  }
}
