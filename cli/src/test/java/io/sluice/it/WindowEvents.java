package io.sluice.it;

import com.google.protobuf.ByteString;
import io.sluice.cli.send.EventSource;
import io.sluice.proto.v1.Event;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;

/** Test events for the event-time tests: a key, an event time and {"v": value}. */
record WindowEvents(List<Ev> events) {
  /** 2026-01-01T00:00:00Z: the time the tests' streams start at. */
  static final long T0 = 1_767_225_600_000L;

  record Ev(String id, String key, long time, long value) {
    Event toEvent() {
      return Event.newBuilder()
          .setId(id)
          .setKey(ByteString.copyFromUtf8(key))
          .setEventTime(time)
          .setContentType("application/json")
          .setPayload(ByteString.copyFrom("{\"v\":" + value + "}", StandardCharsets.UTF_8))
          .build();
    }
  }

  EventSource source() {
    Iterator<Ev> it = events.iterator();
    return () -> it.hasNext() ? it.next().toEvent() : null;
  }
}
