package io.sluice.client.internal;

import io.sluice.proto.v1.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The events a producer was given and the ingest has not acknowledged yet, in sequence order:
 * sequences {@code ackedThrough()+1 .. lastSequence()}. A write cursor marks how far the current
 * stream has written; after a reconnect it is rewound to resend from the first unacked event (or
 * from where the ingest asked).
 *
 * <p>Not thread-safe: the producer guards it with its one lock. A ring buffer rather than an
 * {@code ArrayDeque}, because a batch is read from the middle (at the cursor), not from the head.
 */
public final class UnackedBuffer {
  /** Events to write next on the stream, from {@code firstSequence}, consecutive. */
  public record Batch(long firstSequence, List<Event> events, int resent) {
    public Batch {
      events = List.copyOf(events);
    }
  }

  private Event[] events = new Event[16];
  private int[] sizes = new int[16];
  private int head;
  private int count;
  private long bytes;
  private long ackedThrough;
  private long writtenThrough;
  private long highestWritten;

  /** An empty buffer whose first event will get sequence {@code firstSequence} (from 1). */
  public UnackedBuffer(long firstSequence) {
    if (firstSequence < 1) {
      throw new IllegalArgumentException("sequences start at 1, got " + firstSequence);
    }
    this.ackedThrough = firstSequence - 1;
    this.writtenThrough = ackedThrough;
    this.highestWritten = ackedThrough;
  }

  /** Appends an event of {@code size} serialized bytes and returns its sequence. */
  public long append(Event event, int size) {
    Objects.requireNonNull(event, "event");
    if (count == events.length) {
      grow();
    }
    int slot = (head + count) & (events.length - 1);
    events[slot] = event;
    sizes[slot] = size;
    count++;
    bytes += size;
    return ackedThrough + count;
  }

  private void grow() {
    int capacity = events.length * 2;
    Event[] e = new Event[capacity];
    int[] s = new int[capacity];
    for (int i = 0; i < count; i++) {
      int from = (head + i) & (events.length - 1);
      e[i] = events[from];
      s[i] = sizes[from];
    }
    events = e;
    sizes = s;
    head = 0;
  }

  /**
   * Whether {@code n} more events of {@code addBytes} in all fit within the bounds. The byte bound
   * yields to an empty buffer, so one event larger than it is still taken (alone).
   */
  public boolean hasRoom(int n, long addBytes, int maxEvents, long maxBytes) {
    return count + (long) n <= maxEvents && (count == 0 || bytes + addBytes <= maxBytes);
  }

  /**
   * Releases every event through {@code sequence} (an acknowledgement).
   *
   * @return how many were released; 0 when {@code sequence} is not beyond {@link #ackedThrough()}
   */
  public int release(long sequence) {
    long through = Math.min(sequence, lastSequence());
    int n = (int) Math.max(0, through - ackedThrough);
    for (int i = 0; i < n; i++) {
      bytes -= sizes[head];
      events[head] = null;
      head = (head + 1) & (events.length - 1);
    }
    count -= n;
    ackedThrough += n;
    return n;
  }

  /**
   * Moves the cursor so that the next batch starts at {@code sequence}: after a reconnect, the
   * first unacked sequence or the one the ingest asked for.
   *
   * @throws IllegalArgumentException when {@code sequence} is not in {@code ackedThrough()+1 ..
   *     lastSequence()+1}: those events are no longer (or not yet) here
   */
  public void rewindTo(long sequence) {
    if (sequence <= ackedThrough || sequence > lastSequence() + 1) {
      throw new IllegalArgumentException(
          "cannot resend from "
              + sequence
              + ": the buffer holds "
              + (ackedThrough + 1)
              + ".."
              + lastSequence());
    }
    writtenThrough = sequence - 1;
  }

  /**
   * The next events to write, from the cursor: at most {@code maxEvents}, and no more once they
   * reach {@code maxBytes} (so a batch may pass it by its last event). Advances the cursor past
   * them. Empty when everything was written.
   */
  public Batch nextBatch(int maxEvents, long maxBytes) {
    long first = writtenThrough() + 1;
    int from = (int) (first - ackedThrough - 1);
    List<Event> batch = new ArrayList<>(Math.min(maxEvents, count - from));
    long batchBytes = 0;
    int resent = 0;
    for (int i = from; i < count && batch.size() < maxEvents && batchBytes < maxBytes; i++) {
      int slot = (head + i) & (events.length - 1);
      batch.add(events[slot]);
      batchBytes += sizes[slot];
      if (first + batch.size() - 1 <= highestWritten) {
        resent++;
      }
    }
    writtenThrough = first + batch.size() - 1;
    highestWritten = Math.max(highestWritten, writtenThrough);
    return new Batch(first, batch, resent);
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /** Events held. */
  public int size() {
    return count;
  }

  /** Serialized bytes of the events held. */
  public long bytes() {
    return bytes;
  }

  /** The highest acknowledged sequence (the one before the first event held). */
  public long ackedThrough() {
    return ackedThrough;
  }

  /** The sequence of the last event appended. */
  public long lastSequence() {
    return ackedThrough + count;
  }

  /** The last sequence written on the current stream (never below {@link #ackedThrough()}). */
  public long writtenThrough() {
    return Math.max(writtenThrough, ackedThrough);
  }

  /** Events not yet written on the current stream. */
  public long unsent() {
    return lastSequence() - writtenThrough();
  }

  /** Whether the cursor is below events written before (on an earlier stream): a resend. */
  public boolean resending() {
    return writtenThrough() < highestWritten;
  }
}
