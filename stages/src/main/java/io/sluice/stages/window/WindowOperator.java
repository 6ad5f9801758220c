package io.sluice.stages.window;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sluice.runtime.api.AggregateFunction;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serde;
import io.sluice.runtime.api.SerdeException;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StateRestore;
import io.sluice.runtime.api.StateSnapshot;
import io.sluice.runtime.api.TimeDomain;
import io.sluice.runtime.api.TimerService;
import io.sluice.stages.internal.StateBytes;
import java.io.DataInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Keyed event-time windows with Flink's semantics, so that results compare one to one: the
 * operator of the {@code window} stage, usable as is from a user's Java stage.
 *
 * <p>For every input it asks the {@link WindowAssigner} for the event's windows and adds the value
 * to each window's accumulator of that key with the {@link AggregateFunction}. A window {@code
 * [start, end)}:
 *
 * <ul>
 *   <li>fires <b>on time</b> when the watermark reaches {@code end - 1} (an event-time timer);
 *   <li>accepts events until the watermark reaches {@code end - 1 + allowedLateness}; an event
 *       that arrives after the on-time firing (and before that) updates the window, which fires
 *       again at once, <b>late</b>; the window's state and timers are dropped at that moment (a
 *       cleanup timer);
 *   <li>fires <b>early</b> by the {@link EarlyFiring} policy, never after its on-time firing.
 * </ul>
 *
 * <p>An event that is late for all its windows ({@code end - 1 + allowedLateness <= watermark}
 * for each) is forwarded unchanged, original bytes and all, to the side output {@link
 * #LATE_OUTPUT}; one that is late for some of its (sliding) windows only is added to the others.
 * Session windows are merged first and the merged window decides, as in Flink. A value the
 * aggregate rejects ({@link IllegalArgumentException} from {@code add}) sends the event to the
 * dead letters with the reason, and its windows stay as they were.
 *
 * <p>Each firing forwards a record with the input's key, the timestamp {@code end - 1}, the id
 * {@code <stage>/<key>/<window start>/<n>} ({@code n} counts the window's firings from 0, so a
 * replay makes the same ids; a session that comes to begin inside the span of sessions the key
 * already retired numbers on from their firings instead, so that no id repeats) and the JSON
 * payload {@code {"window_start": ms, "window_end": ms, "<aggregate name>": result, "timing":
 * "early" | "on_time" | "late"}}.
 *
 * <p>State: per key, a small list of live windows (typically one or two), so the per-event path is
 * a map lookup and an {@code add} with no allocation for in-place accumulators such as {@link
 * Aggregates#count()}. Each window registers its timers once, when it is created.
 *
 * <p>A stage declares the late side output in its {@link io.sluice.runtime.api.StageDefinition}:
 *
 * <pre>{@code
 * OutputTag<String, JsonNode> late = WindowOperator.lateOutput(Serdes.json());
 * new StageDefinition<>(Serdes.string(), Serdes.json(), Serdes.string(), Serdes.json(),
 *     () -> new WindowOperator<>(TumblingWindows.of(Duration.ofMinutes(1)), Aggregates.sum("$.price"),
 *         Duration.ofSeconds(5), EarlyFiring.none(), late),
 *     List.of(late));
 * }</pre>
 *
 * <p>Checkpoints ({@link #snapshotState}): each key's state is one keyed entry, so it follows the
 * key's key group when the stage is rescaled: its live windows (bounds, accumulator through the
 * aggregate's {@link AggregateFunction#accumulatorSerde()}, the number of firings that result ids
 * count on from, the early-firing counters and flags), its early-firing timer's time, and the
 * session bookkeeping that keeps ids unique (the retired sessions' frontier and firings). Timers
 * are the runtime's to store. One operator-wide entry holds the watermark the operator had: after
 * a restore the runtime's watermark starts unknown, and until it passes that one again the
 * operator judges lateness by the restored watermark, so an event late before the restore is late
 * after it too (and cannot bring back a window that was already dropped, with its ids).
 *
 * <p>Threading: like every operator, confined to its subtask's thread.
 *
 * @param <V> the input value type the aggregate reads ({@code byte[]} for a count, which never
 *     looks at the payload; a {@link JsonNode} for field aggregates)
 */
public final class WindowOperator<V> implements Operator<String, V, String, JsonNode> {
  /** The name of the side output that takes the events late for all their windows. */
  public static final String LATE_OUTPUT = "late";

  /** The output payload's field holding the window's start, epoch millis (inclusive). */
  public static final String WINDOW_START = "window_start";

  /** The output payload's field holding the window's end, epoch millis (exclusive). */
  public static final String WINDOW_END = "window_end";

  /** The output payload's field holding the firing's {@link Timing}. */
  public static final String TIMING = "timing";

  /** Field names an aggregate may not take, since the output payload already uses them. */
  public static final Set<String> RESERVED_FIELDS = Set.of(WINDOW_START, WINDOW_END, TIMING);

  /** Why a window fired, as written in the output's {@code timing} field. */
  public enum Timing {
    /** Before the watermark reached the window's end, by the {@link EarlyFiring} policy. */
    EARLY("early"),
    /** When the watermark reached the window's end. */
    ON_TIME("on_time"),
    /** After the watermark passed the window's end, for an event within the allowed lateness. */
    LATE("late");

    private final String jsonName;

    Timing(String jsonName) {
      this.jsonName = jsonName;
    }

    /** The value of the {@code timing} field. */
    public String jsonName() {
      return jsonName;
    }
  }

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final long NO_TIMER = Long.MIN_VALUE;
  // Format versions of the checkpointed entries (see snapshotState).
  private static final int KEY_STATE_VERSION = 1;
  private static final int OPERATOR_STATE_VERSION = 1;

  private final WindowAssigner assigner;
  private final AggregateFunction<V, Object, Object> aggregate;
  private final String resultField;
  private final long lateness;
  private final long earlyCount; // 0: no early firing by count
  private final long earlyInterval; // ms; 0: no early firing by processing time
  private final OutputTag<String, V> lateOutput;
  private final boolean merging;
  private final long size;
  private final long[] starts; // scratch for assignWindows

  private final Map<String, KeyWindows> keys = new HashMap<>();
  private OperatorContext<String, JsonNode> context;
  private TimerService<String> timers;
  private String idPrefix;
  private String reasonPrefix;
  // The watermark restored from a checkpoint; lateness is judged by the greater of it and the
  // runtime's, which starts unknown after a restore.
  private long restoredWatermark = Long.MIN_VALUE;

  /**
   * @param assigner which windows an event belongs to
   * @param aggregate what a window computes; its {@link AggregateFunction#name()} names the result
   *     field, and must be none of {@link #RESERVED_FIELDS}
   * @param allowedLateness how long after a window's end (in event time) it still takes events;
   *     zero or more
   * @param earlyFiring when to emit results before the end
   * @param lateOutput the side output for events late for all their windows; its serdes must be
   *     those of the stage's input, and the stage's definition must declare it (see {@link
   *     #lateOutput(Serde)})
   * @throws IllegalArgumentException if the lateness is negative or the result name is reserved
   */
  // The accumulator type is the aggregate's own: every accumulator the operator hands it came
  // from its createAccumulator, add or merge, so viewing A as Object loses nothing.
  @SuppressWarnings("unchecked")
  public WindowOperator(
      WindowAssigner assigner,
      AggregateFunction<? super V, ?, ?> aggregate,
      Duration allowedLateness,
      EarlyFiring earlyFiring,
      OutputTag<String, V> lateOutput) {
    this.assigner = Objects.requireNonNull(assigner, "assigner");
    this.aggregate = (AggregateFunction<V, Object, Object>) Objects.requireNonNull(aggregate, "aggregate");
    this.resultField = checkResultName(aggregate.name());
    if (allowedLateness.isNegative()) {
      throw new IllegalArgumentException(
          "the allowed lateness must not be negative, got " + Durations.format(allowedLateness));
    }
    this.lateness = allowedLateness.toMillis();
    Objects.requireNonNull(earlyFiring, "earlyFiring");
    this.earlyCount = earlyFiring instanceof EarlyFiring.EveryCount c ? c.count() : 0;
    this.earlyInterval = earlyFiring instanceof EarlyFiring.EveryInterval i ? i.interval().toMillis() : 0;
    this.lateOutput = Objects.requireNonNull(lateOutput, "lateOutput");
    this.merging = assigner.isMerging();
    this.size = assigner.windowSizeMillis();
    this.starts = new long[assigner.maxWindowsPerEvent()];
  }

  /** The late side output's tag for a stage whose input values use {@code valueSerde}. */
  public static <V> OutputTag<String, V> lateOutput(Serde<V> valueSerde) {
    return new OutputTag<>(LATE_OUTPUT, Serdes.string(), valueSerde);
  }

  /**
   * Checks an aggregate's result name.
   *
   * @return the name
   * @throws IllegalArgumentException if it is null, empty or one of {@link #RESERVED_FIELDS}
   */
  public static String checkResultName(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("the aggregate's name() must be a non-empty field name, got " + name);
    }
    if (RESERVED_FIELDS.contains(name)) {
      throw new IllegalArgumentException(
          "the aggregate's name() is '" + name + "', which the window output uses itself; choose another");
    }
    return name;
  }

  @Override
  public void init(OperatorContext<String, JsonNode> context) {
    this.context = context;
    this.timers = context.timerService();
    this.idPrefix = context.stageName() + "/";
    this.reasonPrefix = "window " + context.stageName() + ": ";
  }

  // ---------------------------------------------------------------- events

  @Override
  public void process(Record<String, V> record) {
    int n;
    try {
      n = assigner.assignWindows(record.timestamp(), starts);
    } catch (ArithmeticException e) {
      context.deadLetter(
          reasonPrefix + "event time " + record.timestamp() + " has no window (" + assigner
              + ") within the range of epoch milliseconds");
      return;
    }
    long watermark = watermark();
    if (merging) {
      processSession(record, watermark);
    } else {
      processFixed(record, n, watermark);
    }
  }

  private void processFixed(Record<String, V> record, int n, long watermark) {
    // starts[0] is the latest window, the last to become late: when it is late, all are.
    if (isLate(starts[0] + size, watermark)) {
      context.forward(lateOutput, record);
      return;
    }
    String key = record.key();
    KeyWindows windows = keys.get(key);
    for (int i = 0; i < n; i++) {
      long end = starts[i] + size;
      if (isLate(end, watermark)) {
        break; // the windows after it end earlier still
      }
      Window w = windows == null ? null : windows.find(starts[i]);
      Object acc;
      try {
        acc = aggregate.add(record.value(), w == null ? aggregate.createAccumulator() : w.accumulator);
      } catch (IllegalArgumentException e) {
        // Aggregates reject a value for what it is, so this is the first window and nothing has
        // changed yet. (A user aggregate that took the value in one window and rejects it in the
        // next would leave it in the first: add's contract forbids that.)
        context.deadLetter(reasonPrefix + e.getMessage());
        return;
      }
      if (w == null) {
        if (windows == null) {
          windows = new KeyWindows();
          keys.put(key, windows);
        }
        w = new Window(starts[i], end, acc);
        windows.list.add(w);
        registerTimers(key, w, watermark);
      } else {
        w.accumulator = acc;
      }
      added(key, windows, w, watermark);
    }
  }

  private void processSession(Record<String, V> record, long watermark) {
    long start = record.timestamp();
    long end = start + size;
    String key = record.key();
    KeyWindows windows = keys.get(key);
    // A key's sessions are sorted by start and apart from each other, so the ones the new window
    // [start, end) intersects (touching counts, as in Flink) are consecutive: first..last.
    int first = -1;
    int last = -1;
    long mergedStart = start;
    long mergedEnd = end;
    if (windows != null) {
      List<Window> list = windows.list;
      for (int i = 0; i < list.size(); i++) {
        Window w = list.get(i);
        if (w.start > end) {
          break;
        }
        if (w.end >= start) {
          first = first < 0 ? i : first;
          last = i;
          mergedStart = Math.min(mergedStart, w.start);
          mergedEnd = Math.max(mergedEnd, w.end);
        }
      }
    }
    // Live sessions are never late themselves (they are dropped when they become so), so only a
    // new session that merges with none can be.
    if (isLate(mergedEnd, watermark)) {
      context.forward(lateOutput, record);
      return;
    }
    if (first < 0) {
      Object acc;
      try {
        acc = aggregate.add(record.value(), aggregate.createAccumulator());
      } catch (IllegalArgumentException e) {
        context.deadLetter(reasonPrefix + e.getMessage());
        return;
      }
      if (windows == null) {
        windows = new KeyWindows();
        keys.put(key, windows);
      }
      Window w = new Window(start, end, acc);
      w.firings = windows.firstFiringAt(start);
      windows.insertSorted(w);
      registerTimers(key, w, watermark);
      added(key, windows, w, watermark);
      return;
    }
    Window target = windows.list.get(first);
    try {
      target.accumulator = aggregate.add(record.value(), target.accumulator);
    } catch (IllegalArgumentException e) {
      context.deadLetter(reasonPrefix + e.getMessage());
      return;
    }
    if (first != last || mergedStart != target.start || mergedEnd != target.end) {
      merge(key, windows, first, last, mergedStart, mergedEnd, watermark);
    }
    added(key, windows, target, watermark);
  }

  /**
   * Turns sessions {@code first..last} (the first already holding the new event) into one window
   * {@code [mergedStart, mergedEnd)}: accumulators merged, timers moved to the merged window.
   */
  private void merge(
      String key, KeyWindows windows, int first, int last, long mergedStart, long mergedEnd, long watermark) {
    List<Window> list = windows.list;
    Window target = list.get(first);
    if (mergedStart != target.start) {
      windows.retire(target); // as it was: its ids must not come back
    }
    long[] oldTimers = new long[2 * (last - first + 1)];
    for (int i = first; i <= last; i++) {
      Window w = list.get(i);
      oldTimers[2 * (i - first)] = w.end - 1;
      oldTimers[2 * (i - first) + 1] = cleanupTime(w.end);
    }
    for (int i = first + 1; i <= last; i++) {
      Window other = list.remove(first + 1);
      windows.retire(other);
      target.accumulator = aggregate.merge(target.accumulator, other.accumulator);
      target.sinceFiring += other.sinceFiring;
      target.changed |= other.changed;
    }
    if (mergedStart != target.start) {
      target.firings = windows.firstFiringAt(mergedStart);
    }
    target.start = mergedStart;
    target.end = mergedEnd;
    target.pastEnd = false;
    registerTimers(key, target, watermark);
    for (long t : oldTimers) {
      if (!windows.needsTimer(t)) {
        timers.deleteEventTimeTimer(key, t);
      }
    }
  }

  /** After a window took an event: a late firing, or an early one by the policy. */
  private void added(String key, KeyWindows windows, Window w, long watermark) {
    if (w.pastEnd || w.end - 1 <= watermark) {
      w.pastEnd = true;
      fire(key, w, Timing.LATE);
    } else if (earlyCount > 0) {
      if (++w.sinceFiring >= earlyCount) {
        fire(key, w, Timing.EARLY);
      }
    } else if (earlyInterval > 0) {
      w.changed = true;
      if (windows.earlyTimer == NO_TIMER) {
        long now = timers.currentProcessingTime();
        windows.earlyTimer = now - Math.floorMod(now, earlyInterval) + earlyInterval;
        timers.registerProcessingTimeTimer(key, windows.earlyTimer);
      }
    }
  }

  private void registerTimers(String key, Window w, long watermark) {
    long lastMoment = w.end - 1;
    if (lastMoment > watermark) {
      timers.registerEventTimeTimer(key, lastMoment);
    } else {
      // The watermark passed the end before the window had an event: it fires late at once, and
      // never on time or early.
      w.pastEnd = true;
    }
    long cleanup = cleanupTime(w.end);
    if (cleanup != lastMoment) {
      timers.registerEventTimeTimer(key, cleanup);
    }
  }

  // ---------------------------------------------------------------- timers

  @Override
  public void onTimer(String key, long timestamp, TimeDomain domain) {
    KeyWindows windows = keys.get(key);
    if (windows == null) {
      return;
    }
    if (domain == TimeDomain.PROCESSING_TIME) {
      onEarlyTimer(key, windows, timestamp);
      return;
    }
    List<Window> list = windows.list;
    for (int i = 0; i < list.size(); i++) {
      Window w = list.get(i);
      if (!w.pastEnd && w.end - 1 <= timestamp) {
        w.pastEnd = true;
        fire(key, w, Timing.ON_TIME);
      }
    }
    for (int i = list.size() - 1; i >= 0; i--) {
      if (cleanupTime(list.get(i).end) <= timestamp) {
        Window dropped = list.remove(i);
        if (merging) {
          windows.retire(dropped);
        }
      }
    }
    if (windows.earlyTimer != NO_TIMER && !windows.anyEarlyDue()) {
      timers.deleteProcessingTimeTimer(key, windows.earlyTimer);
      windows.earlyTimer = NO_TIMER;
    }
    if (list.isEmpty()) {
      long forget = merging ? memoryExpiry(windows.frontier) : Long.MIN_VALUE;
      if (forget <= timestamp) {
        keys.remove(key);
      } else {
        timers.registerEventTimeTimer(key, forget); // keep the id memory of retired sessions until then
      }
    }
  }

  private void onEarlyTimer(String key, KeyWindows windows, long timestamp) {
    if (timestamp != windows.earlyTimer) {
      return; // not ours any more; timers are deleted when no longer wanted, so this is a guard
    }
    windows.earlyTimer = NO_TIMER;
    for (Window w : windows.list) {
      if (w.changed && !w.pastEnd) {
        fire(key, w, Timing.EARLY);
      }
    }
  }

  @Override
  public void close() {
    // The watermark reached Long.MAX_VALUE before close, so every window fired and was dropped;
    // what is left is at most a processing-time timer of a key whose windows were dropped.
    for (Map.Entry<String, KeyWindows> e : keys.entrySet()) {
      if (e.getValue().earlyTimer != NO_TIMER) {
        timers.deleteProcessingTimeTimer(e.getKey(), e.getValue().earlyTimer);
      }
    }
    keys.clear();
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * Writes one keyed entry per key (see the class comment) and one operator-wide entry with the
   * watermark. Key entry, format 1: early timer (long), retired frontier (long), retired firings
   * (int), window count (int), then per window: start, end (long), firings (int), events since
   * the last firing (long), flags (byte: 1 changed, 2 past its end), accumulator length (int) and
   * bytes.
   *
   * @throws IllegalStateException when the aggregate's serde cannot write an accumulator
   */
  @Override
  public void snapshotState(StateSnapshot<String> snapshot) {
    Serde<Object> serde = aggregate.accumulatorSerde();
    for (Map.Entry<String, KeyWindows> e : keys.entrySet()) {
      snapshot.putKeyed(e.getKey(), encode(e.getKey(), e.getValue(), serde, snapshot.checkpointId()));
    }
    long watermark = watermark();
    snapshot.putOperator(StateBytes.write(OPERATOR_STATE_VERSION, out -> out.writeLong(watermark)));
  }

  /**
   * Takes back the keys of the key groups this instance owns, and the watermark: the greatest of
   * the old instances' (they are equal after aligned barriers, which every instance passes with
   * the same watermarks; the greatest never lets an event that was late somewhere re-open a
   * window).
   */
  @Override
  public void restoreState(StateRestore<String> restore) {
    String where = "window " + context.instanceId() + ": restoring checkpoint " + restore.checkpointId();
    for (StateRestore.OperatorEntry e : restore.operatorEntries()) {
      long w = StateBytes.read(e.value(), OPERATOR_STATE_VERSION, where + " (watermark of instance "
          + e.instanceIndex() + ")", (in, version) -> in.readLong());
      restoredWatermark = Math.max(restoredWatermark, w);
    }
    Serde<Object> serde = aggregate.accumulatorSerde();
    restore.forEachKeyed((key, bytes) -> keys.put(key, decode(key, bytes, serde, where)));
  }

  /** The watermark lateness is judged by: the runtime's, or the restored one while that is ahead. */
  private long watermark() {
    return Math.max(restoredWatermark, context.currentWatermark());
  }

  private byte[] encode(String key, KeyWindows windows, Serde<Object> serde, long checkpointId) {
    return StateBytes.write(KEY_STATE_VERSION, out -> {
      out.writeLong(windows.earlyTimer);
      out.writeLong(windows.frontier);
      out.writeInt(windows.retiredFirings);
      out.writeInt(windows.list.size());
      for (Window w : windows.list) {
        out.writeLong(w.start);
        out.writeLong(w.end);
        out.writeInt(w.firings);
        out.writeLong(w.sinceFiring);
        out.writeByte((w.changed ? 1 : 0) | (w.pastEnd ? 2 : 0));
        byte[] acc;
        try {
          acc = serde.serialize(w.accumulator);
        } catch (RuntimeException e) {
          throw new IllegalStateException("window " + context.instanceId() + ", checkpoint " + checkpointId
              + ": cannot write the accumulator of key '" + key + "', window [" + w.start + ", " + w.end + "): "
              + e.getMessage(), e);
        }
        out.writeInt(acc.length);
        out.write(acc);
      }
    });
  }

  private KeyWindows decode(String key, byte[] bytes, Serde<Object> serde, String where) {
    String what = where + ", key '" + key + "'";
    return StateBytes.read(bytes, KEY_STATE_VERSION, what, (in, version) -> {
      KeyWindows windows = new KeyWindows();
      windows.earlyTimer = in.readLong();
      windows.frontier = in.readLong();
      windows.retiredFirings = in.readInt();
      int n = in.readInt();
      for (int i = 0; i < n; i++) {
        long start = in.readLong();
        long end = in.readLong();
        int firings = in.readInt();
        long sinceFiring = in.readLong();
        int flags = in.readUnsignedByte();
        Window w = new Window(start, end, readAccumulator(in, serde, what));
        w.firings = firings;
        w.sinceFiring = sinceFiring;
        w.changed = (flags & 1) != 0;
        w.pastEnd = (flags & 2) != 0;
        windows.list.add(w); // written in the list's order: sorted by start for sessions
      }
      return windows;
    });
  }

  private static Object readAccumulator(DataInputStream in, Serde<Object> serde, String what) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      throw new IllegalStateException(what + ": an accumulator of negative length " + length + "; the state is corrupt");
    }
    byte[] acc = new byte[length];
    in.readFully(acc);
    try {
      return serde.deserialize(acc);
    } catch (SerdeException e) {
      throw new IllegalStateException(what + ": cannot read an accumulator: " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- output

  private void fire(String key, Window w, Timing timing) {
    ObjectNode payload = NODES.objectNode();
    payload.put(WINDOW_START, w.start);
    payload.put(WINDOW_END, w.end);
    payload.set(resultField, toJson(aggregate.result(w.accumulator)));
    payload.put(TIMING, timing.jsonName());
    String id = idPrefix + key + '/' + w.start + '/' + w.firings;
    w.firings++;
    w.sinceFiring = 0;
    w.changed = false;
    context.forward(new Record<>(id, key, payload, w.end - 1, Map.of(), null));
  }

  private JsonNode toJson(Object result) {
    if (result == null) {
      return NODES.nullNode();
    }
    if (result instanceof JsonNode node) {
      return node;
    }
    if (result instanceof Long l) {
      return LongNode.valueOf(l);
    }
    if (result instanceof Integer i) {
      return IntNode.valueOf(i);
    }
    if (result instanceof Double d) {
      return DoubleNode.valueOf(d);
    }
    if (result instanceof String s) {
      return TextNode.valueOf(s);
    }
    try {
      return MAPPER.valueToTree(result);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          reasonPrefix + "the result of aggregate '" + resultField + "' (" + result.getClass().getName()
              + ") cannot be written as JSON: " + e.getMessage(),
          e);
    }
  }

  // ---------------------------------------------------------------- time arithmetic

  /** When a window's state goes: {@code end - 1 + allowedLateness}. */
  private long cleanupTime(long end) {
    return saturatedAdd(end - 1, lateness);
  }

  /**
   * When an idle key may forget its retired sessions: from then on a new session starts at or
   * after their frontier ({@code t + gap - 1 + lateness} would otherwise be at or below the
   * watermark).
   */
  private long memoryExpiry(long frontier) {
    return frontier == Long.MIN_VALUE ? Long.MIN_VALUE : saturatedAdd(saturatedAdd(frontier - 1, size), lateness);
  }

  private static long saturatedAdd(long a, long nonNegative) {
    long sum = a + nonNegative;
    return sum < a ? Long.MAX_VALUE : sum;
  }

  private boolean isLate(long end, long watermark) {
    return cleanupTime(end) <= watermark;
  }

  // ---------------------------------------------------------------- state

  /** One window of one key. */
  private static final class Window {
    long start;
    long end;
    Object accumulator;
    int firings; // so far; the next firing's id ends in this number
    long sinceFiring; // events added since the last firing, for early firing by count
    boolean changed; // since the last firing, for early firing by processing time
    boolean pastEnd; // fired on time, or born after its end: no early or on-time firing any more

    Window(long start, long end, Object accumulator) {
      this.start = start;
      this.end = end;
      this.accumulator = accumulator;
    }
  }

  /**
   * The live windows of one key (sorted by start for sessions), its early-firing timer and, for
   * sessions, what keeps result ids unique.
   *
   * <p>Result ids name a window by its start, and a session's start is the time of its earliest
   * event, which can move back (Flink judges lateness on the merged session, so an event behind
   * the watermark by more than the lateness may still join a live session and extend it back). A
   * session may therefore come to begin where a session of the key that was dropped, or merged
   * into another, began, and must not repeat its ids. So the key remembers two numbers about the
   * sessions that left its live set ("retired"): the latest end ({@code frontier}) and the most
   * firings. A session that comes to begin before the frontier numbers its firings on from there;
   * one that begins at or after it cannot share a start with a retired one and counts from 0, as
   * every in-order session does.
   *
   * <p>A key without live sessions forgets the two numbers once the watermark is a gap plus the
   * lateness past the frontier (see memoryExpiry): a new session then begins after the
   * frontier. What remains possible is a new session dragged back over the forgotten span by
   * events each at least gap + lateness behind the watermark, landing exactly on a forgotten start;
   * remembering every key forever would be the price of excluding that too.
   */
  private final class KeyWindows {
    final ArrayList<Window> list = new ArrayList<>(2);
    long earlyTimer = NO_TIMER;
    long frontier = Long.MIN_VALUE; // sessions: the latest end of a retired session
    int retiredFirings; // sessions: the most firings of a retired session

    /** Notes a session leaving the live set: dropped, merged into another, or moved to a new start. */
    void retire(Window w) {
      frontier = Math.max(frontier, w.end);
      retiredFirings = Math.max(retiredFirings, w.firings);
    }

    /** The number of the first firing of a session that comes to begin at {@code start}. */
    int firstFiringAt(long start) {
      return start < frontier ? retiredFirings : 0;
    }

    Window find(long start) {
      for (int i = 0; i < list.size(); i++) {
        Window w = list.get(i);
        if (w.start == start) {
          return w;
        }
      }
      return null;
    }

    void insertSorted(Window w) {
      int i = list.size();
      while (i > 0 && list.get(i - 1).start > w.start) {
        i--;
      }
      list.add(i, w);
    }

    /** Whether an event-time timer at {@code t} still has a window to fire or drop. */
    boolean needsTimer(long t) {
      for (Window w : list) {
        if ((!w.pastEnd && w.end - 1 == t) || cleanupTime(w.end) == t) {
          return true;
        }
      }
      return false;
    }

    boolean anyEarlyDue() {
      for (Window w : list) {
        if (w.changed && !w.pastEnd) {
          return true;
        }
      }
      return false;
    }
  }
}
