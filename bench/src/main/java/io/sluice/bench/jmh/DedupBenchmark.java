package io.sluice.bench.jmh;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.Cancellable;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.OutputTag;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.TimerService;
import io.sluice.stages.dedup.DedupOperator;
import io.sluice.stages.dedup.DedupStageFactory;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dedup operator alone: events per second over 1,000,000 distinct ids plus 100,000
 * duplicates (shuffled, all in one bucket, 10,000 keys), and the bytes of state per distinct
 * value.
 *
 * <p>Each invocation feeds all 1.1M events to a fresh operator (made in an untimed setup), so the
 * figure includes the fingerprint set's growth from 16 slots to 2^21. The operator runs with a
 * minimal context that counts what it forwards; decoding events off the wire is not included (see
 * {@link CodecBenchmark} for that).
 *
 * <p>State per value is printed once per run (trial setup), from the fingerprint tables' length
 * and, as a cross-check, from the heap used after full GCs before and after filling an operator.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar DedupBenchmark -wi 2 -i 3 -w 2s -r 2s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xms2g", "-Xmx2g"})
public class DedupBenchmark {
  static final int DISTINCT = 1_000_000;
  static final int DUPLICATES = 100_000;
  static final int EVENTS = DISTINCT + DUPLICATES;
  private static final long BASE_TIME = 1_767_225_600_000L; // 2026-01-01T00:00:00Z, a bucket start

  /** {@code id}: the event id (no payload parsing); a JSON path: parses every payload. */
  @Param({"id", "$.order.id"})
  public String by;

  private List<Record<byte[], byte[]>> events;
  private DedupOperator operator;
  private CountingContext context;

  @Setup(Level.Trial)
  public void makeEventsAndReportState() {
    events = events();
    reportState();
  }

  @Setup(Level.Invocation)
  public void freshOperator() {
    context = new CountingContext();
    operator = newOperator(by);
    operator.init(context);
  }

  /** One invocation: all 1.1M events; JMH reports events per second. */
  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public long dedup() {
    DedupOperator op = operator;
    for (Record<byte[], byte[]> e : events) {
      op.process(e);
    }
    return context.forwarded;
  }

  private static DedupOperator newOperator(String by) {
    ObjectNode settings = JsonNodeFactory.instance.objectNode().put("type", "dedup").put("by", by).put("bucket", "1h");
    Operator<byte[], byte[], byte[], byte[]> op =
        new DedupStageFactory().create(new StageConfig("distinct", settings, Path.of("."))).operator().get();
    return (DedupOperator) op;
  }

  /** 1M distinct events and 100k repeats of some of them, shuffled with a fixed seed. */
  private static List<Record<byte[], byte[]>> events() {
    Random random = new Random(1);
    List<Record<byte[], byte[]>> all = new ArrayList<>(EVENTS);
    for (int i = 0; i < DISTINCT; i++) {
      String payload = "{\"order\":{\"id\":\"o-" + i + "\"},\"user\":\"user-" + (i % 10_000)
          + "\",\"action\":\"purchase\",\"price\":12.5}";
      all.add(new Record<>(
          "producer-" + i,
          ("user-" + (i % 10_000)).getBytes(StandardCharsets.UTF_8),
          payload.getBytes(StandardCharsets.UTF_8),
          BASE_TIME + random.nextInt(3_600_000),
          Map.of(),
          null));
    }
    for (int i = 0; i < DUPLICATES; i++) {
      all.add(all.get(random.nextInt(DISTINCT)));
    }
    Collections.shuffle(all, random);
    return all;
  }

  /** Fills one operator and prints its state per distinct value, by table size and by heap. */
  private void reportState() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long before = usedHeapAfterGc(memory);
    DedupOperator op = newOperator(by);
    CountingContext ctx = new CountingContext();
    op.init(ctx);
    for (Record<byte[], byte[]> e : events) {
      op.process(e);
    }
    long after = usedHeapAfterGc(memory);
    Reference.reachabilityFence(op);
    if (ctx.forwarded != DISTINCT || op.distinctValues() != DISTINCT || ctx.deadLetters != 0) {
      throw new IllegalStateException(
          "dedup forwarded " + ctx.forwarded + " of " + DISTINCT + " distinct events (" + ctx.deadLetters
              + " dead letters): the benchmark would measure a broken operator");
    }
    long values = op.distinctValues();
    System.out.printf(
        Locale.ROOT,
        "%n[dedup state, by %s] %,d distinct values, %,d duplicates dropped, %d bucket%n"
            + "[dedup state, by %s] fingerprint tables: %,d B = %.1f B per distinct value%n"
            + "[dedup state, by %s] heap after GC, filled minus empty: %,d B = %.1f B per distinct value%n"
            + "[dedup state, by %s] chance of any fingerprint collision among them: about n^2/2^129 = %.1e%n",
        by, values, EVENTS - ctx.forwarded, op.openBuckets(),
        by, op.stateBytes(), (double) op.stateBytes() / values,
        by, after - before, (double) (after - before) / values,
        by, (double) values * values / Math.pow(2, 129));
  }

  private static long usedHeapAfterGc(MemoryMXBean memory) {
    // Several full collections until the figure settles: one System.gc() may leave garbage that
    // was only just made unreachable (finalizers, soft references, G1's regions in flux).
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 10; i++) {
      System.gc();
      long now = memory.getHeapMemoryUsage().getUsed();
      if (Math.abs(used - now) < 64 * 1024) {
        return now;
      }
      used = now;
    }
    return used;
  }

  /** The least context the dedup operator needs: counts what it forwards; one timer list. */
  static final class CountingContext implements OperatorContext<byte[], byte[]> {
    long forwarded;
    long late;
    long deadLetters;
    long timers;

    @Override
    public String stageName() {
      return "distinct";
    }

    @Override
    public String instanceId() {
      return "distinct-0";
    }

    @Override
    public int instanceIndex() {
      return 0;
    }

    @Override
    public void forward(Record<? extends byte[], ? extends byte[]> record) {
      forwarded++;
    }

    @Override
    public <K, V> void forward(OutputTag<K, V> output, Record<K, V> record) {
      late++;
    }

    @Override
    public void deadLetter(String reason) {
      deadLetters++;
    }

    @Override
    public Cancellable schedule(Duration interval, Runnable callback) {
      throw new UnsupportedOperationException("dedup schedules nothing");
    }

    @Override
    public long currentTimeMillis() {
      return System.currentTimeMillis();
    }

    @Override
    public void deadLetter(Record<?, ?> input, String reason) {
      deadLetters++;
    }

    @Override
    public <K> TimerService<K> timerService() {
      return new TimerService<>() {
        @Override
        public void registerEventTimeTimer(K key, long timestamp) {
          timers++;
        }

        @Override
        public void deleteEventTimeTimer(K key, long timestamp) {}

        @Override
        public void registerProcessingTimeTimer(K key, long timestamp) {
          throw new UnsupportedOperationException("dedup uses event time only");
        }

        @Override
        public void deleteProcessingTimeTimer(K key, long timestamp) {}

        @Override
        public long currentWatermark() {
          return Long.MIN_VALUE;
        }

        @Override
        public long currentProcessingTime() {
          return System.currentTimeMillis();
        }
      };
    }

    @Override
    public long currentWatermark() {
      return Long.MIN_VALUE;
    }

    @Override
    public Executor executor() {
      return Runnable::run;
    }
  }
}
