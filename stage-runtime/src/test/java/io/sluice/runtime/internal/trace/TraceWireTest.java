package io.sluice.runtime.internal.trace;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.TraceContext;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TraceWireTest {
  private final TraceContext sampled = new TraceOrigin(1.0, 1).newRoot().toBuilder().setTraceState("a=b").build();
  private final TraceContext unsampled = new TraceOrigin(0.0, 2).newRoot();

  @Test
  void findsTheTraceContextAndItsFlagAmongOtherFields() {
    for (TraceContext t : new TraceContext[] {sampled, unsampled}) {
      Event e = Event.newBuilder().setId("id-1").setKey(ByteString.copyFromUtf8("k")).setEventTime(-5)
          .setPayload(ByteString.copyFrom(new byte[300])).setContentType("x/y").putAttributes("h", "v")
          .setTrace(t).build();
      byte[] prefix = {1, 2, 3};
      byte[] b = concat(prefix, e.toByteArray());
      long at = TraceWire.locate(b, prefix.length, b.length - prefix.length);
      assertThat(at).isNotNegative();
      int pos = (int) (at >>> 32);
      int len = (int) at;
      assertThat(Arrays.copyOfRange(b, pos, pos + len)).isEqualTo(t.toByteArray());
      assertThat(TraceWire.sampled(b, pos, len)).isEqualTo((t.getTraceFlags() & 1) != 0);
      int traceAt = TraceWire.traceIdAt(b, pos, len);
      int spanAt = TraceWire.spanIdAt(b, pos, len);
      assertThat(Arrays.copyOfRange(b, traceAt, traceAt + 16)).isEqualTo(t.getTraceId().toByteArray());
      assertThat(Arrays.copyOfRange(b, spanAt, spanAt + 8)).isEqualTo(t.getSpanId().toByteArray());
    }
  }

  @Test
  void noTraceOrMalformedBytesAreNotFound() {
    byte[] plain = Event.newBuilder().setId("x").build().toByteArray();
    assertThat(TraceWire.locate(plain, 0, plain.length)).isEqualTo(-1);
    byte[] e = Event.newBuilder().setId("x").setTrace(sampled).build().toByteArray();
    for (int cut = 1; cut < e.length; cut++) {
      assertThat(TraceWire.locate(e, 0, cut)).as("cut at %d", cut).isEqualTo(-1);
    }
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};
    assertThat(TraceWire.locate(garbage, 0, garbage.length)).isEqualTo(-1);
    assertThat(TraceWire.sampled(garbage, 0, garbage.length)).isFalse();
  }

  @Test
  void eventSampledAgreesWithAParseForEveryShapeOfEvent() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(42);
    TraceOrigin origin = new TraceOrigin(0.5, 3);
    for (int i = 0; i < 5_000; i++) {
      Event.Builder e = Event.newBuilder().setId("id-" + i);
      if (random.nextBoolean()) {
        e.setKey(ByteString.copyFromUtf8("k" + i));
      }
      byte[] payload = new byte[random.nextInt(0, 200)];
      random.nextBytes(payload);
      e.setPayload(ByteString.copyFrom(payload)).setEventTime(random.nextLong());
      if (random.nextInt(4) == 0) {
        e.putAttributes("h" + random.nextInt(3), "v");
      }
      int shape = random.nextInt(5);
      if (shape > 0) {
        TraceContext.Builder t = origin.newRoot().toBuilder();
        if (shape == 2) {
          t.setTraceState("vendor=" + i); // longer than the canonical 28 / 30 bytes: the scan
        } else if (shape == 3) {
          t.setTraceFlags(random.nextInt(0, 300)); // other flag bits, and two-byte varints
        }
        e.setTrace(t);
      }
      Event event = e.build();
      byte[] prefix = new byte[random.nextInt(0, 4)];
      byte[] b = concat(prefix, event.toByteArray());
      boolean truth = event.hasTrace() && (event.getTrace().getTraceFlags() & 1) != 0;
      assertThat(TraceWire.eventSampled(b, prefix.length, b.length - prefix.length))
          .as("event %d: %s", i, event).isEqualTo(truth);
      long at = TraceWire.sampledTraceAt(b, prefix.length, b.length - prefix.length);
      if (!truth) {
        assertThat(at).as("event %d", i).isEqualTo(-1);
        continue;
      }
      // Where the scan finds it, and the ids and state read there (the canonical shapes from
      // fixed places, the rest by scanning the context) are the parse's.
      assertThat(at).as("event %d", i).isEqualTo(TraceWire.locate(b, prefix.length, b.length - prefix.length));
      int pos = (int) (at >>> 32);
      int len = (int) at;
      int traceAt = TraceWire.traceIdAt(b, pos, len);
      int spanAt = TraceWire.spanIdAt(b, pos, len);
      assertThat(Arrays.copyOfRange(b, traceAt, traceAt + 16)).isEqualTo(event.getTrace().getTraceId().toByteArray());
      assertThat(Arrays.copyOfRange(b, spanAt, spanAt + 8)).isEqualTo(event.getTrace().getSpanId().toByteArray());
      long state = TraceWire.traceStateAt(b, pos, len);
      assertThat(state < 0 ? "" : text(b, state)).isEqualTo(event.getTrace().getTraceState());
    }
  }

  @Test
  void contextsWithoutATraceStateAreThe28And30ByteTails() {
    // Sampled and unsampled contexts without a trace state, last in the event as protobuf writes
    // them: the shapes eventSampled reads from the end. A copy cut short is malformed: false.
    for (TraceContext t : new TraceContext[] {new TraceOrigin(1.0, 5).newRoot(), unsampled}) {
      byte[] b = Event.newBuilder().setId("x").setPayload(ByteString.copyFromUtf8("{}")).setTrace(t).build()
          .toByteArray();
      assertThat(t.getSerializedSize()).isEqualTo((t.getTraceFlags() & 1) != 0 ? 30 : 28);
      assertThat(TraceWire.eventSampled(b, 0, b.length)).isEqualTo((t.getTraceFlags() & 1) != 0);
      assertThat(TraceWire.eventSampled(b, 0, b.length - 1)).isFalse();
    }
  }

  @Test
  void findsTheEventIdAndTheTraceStateWhereTheyLie() {
    Event e = Event.newBuilder().setId("évènement-7").setKey(ByteString.copyFromUtf8("k"))
        .setPayload(ByteString.copyFrom(new byte[200])).setTrace(sampled).build();
    byte[] prefix = {9, 9};
    byte[] b = concat(prefix, e.toByteArray());
    assertThat(text(b, TraceWire.idAt(b, prefix.length, b.length - prefix.length))).isEqualTo("évènement-7");
    long trace = TraceWire.locate(b, prefix.length, b.length - prefix.length);
    assertThat(text(b, TraceWire.traceStateAt(b, (int) (trace >>> 32), (int) trace))).isEqualTo("a=b");

    // None there, or cut short: not found.
    byte[] bare = Event.newBuilder().setTrace(unsampled).build().toByteArray();
    assertThat(TraceWire.idAt(bare, 0, bare.length)).isEqualTo(-1);
    long bareTrace = TraceWire.locate(bare, 0, bare.length);
    assertThat(TraceWire.traceStateAt(bare, (int) (bareTrace >>> 32), (int) bareTrace)).isEqualTo(-1);
    assertThat(TraceWire.idAt(b, prefix.length, 5)).isEqualTo(-1);

    // A field given twice: the last one, as a parse keeps.
    byte[] twice = concat(Event.newBuilder().setId("first").build().toByteArray(),
        Event.newBuilder().setId("second").build().toByteArray());
    assertThat(text(twice, TraceWire.idAt(twice, 0, twice.length))).isEqualTo("second");
  }

  private static String text(byte[] b, long where) {
    assertThat(where).isNotNegative();
    return new String(b, (int) (where >>> 32), (int) where, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
