package io.sluice.bench.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.ConfigException;
import io.sluice.runtime.api.Operator;
import io.sluice.runtime.api.OperatorContext;
import io.sluice.runtime.api.Record;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.HdrHistogram.Histogram;

/**
 * The {@code bench-sink} stage type: counts what arrives and, for {@code generator} events in
 * binary format (whose payload starts with the System.nanoTime() of their creation), records the
 * end-to-end latency of every 16th event in an HdrHistogram. On close it writes a JSON report to {@code report}.
 * Latency is only meaningful when generator and sink share one machine's monotonic clock.
 */
public final class BenchSinkFactory implements StageFactory {
  @Override
  public String type() {
    return "bench-sink";
  }

  @Override
  public Role role() {
    return Role.SINK;
  }

  @Override
  public StageDefinition<?, ?, ?, ?> create(StageConfig config) {
    if (!config.has("report")) {
      throw new ConfigException("report", "'report' (a file path for the JSON report) is required");
    }
    Path report = config.path("report");
    return StageDefinition.of(
        Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), () -> new BenchSink(report));
  }

  /** Counts and measures; thread-confined like every operator. */
  static final class BenchSink implements Operator<byte[], byte[], byte[], byte[]> {
    private final Path report;
    private final Histogram latencyMicros = new Histogram(60_000_000L, 3);
    private long events;
    // When every millionth event arrived: the rate over the second half of a run is the steady
    // state, after the JIT compilers of every JVM have settled.
    private final java.util.ArrayList<Long> millionMarks = new java.util.ArrayList<>();
    private long firstNanos;
    private long lastNanos;
    private int index;

    BenchSink(Path report) {
      this.report = report;
    }

    @Override
    public void init(OperatorContext<byte[], byte[]> context) {
      index = context.instanceIndex();
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
      events++;
      // The clock is read only for sampled events (every 16th) and milestones: reading it for
      // every event would make the measuring tool a noticeable part of what it measures.
      if ((events & 15) != 1 && events % 1_000_000 != 0) {
        return;
      }
      long now = System.nanoTime();
      if (events == 1) {
        firstNanos = now;
      }
      lastNanos = now;
      if (events % 1_000_000 == 0) {
        millionMarks.add(now);
      }
      byte[] p = record.value();
      if (p.length >= 8 && (events & 15) == 1) {
        long created = ByteBuffer.wrap(p).getLong();
        long micros = (now - created) / 1_000;
        if (micros >= 0 && micros <= latencyMicros.getHighestTrackableValue()) {
          latencyMicros.recordValue(micros);
        }
      }
    }

    /**
     * Events a second from million-mark {@code after} to million-mark {@code to} (indexes into
     * {@code millionMarks}); {@code after} -1 means from the first event.
     */
    private double rateBetweenMarks(int after, int to) {
      double from = after < 0 ? firstNanos : millionMarks.get(after);
      double events = after < 0 ? 1_000_000.0 * (to + 1) - 1 : 1_000_000.0 * (to - after);
      return events / ((millionMarks.get(to) - from) / 1e9);
    }

    @Override
    public void close() {
      lastNanos = System.nanoTime(); // the last event has just arrived: its drain ends the stream
      ObjectNode json = new ObjectMapper().createObjectNode();
      double seconds = (lastNanos - firstNanos) / 1e9;
      json.put("events", events);
      json.put("seconds", seconds);
      json.put("eventsPerSecond", seconds > 0 ? events / seconds : 0);
      int marks = millionMarks.size();
      if (marks >= 4) {
        json.put("steadyEventsPerSecond", rateBetweenMarks(marks / 2 - 1, marks - 1));
      } else {
        json.put("steadyEventsPerSecond", 0);
      }
      // The rate over each quarter of the marks: shows whether a run has settled by its second
      // half (a JIT still compiling a rarely run path shows as a rate that still climbs).
      var quarters = json.putArray("quarterEventsPerSecond");
      if (marks >= 8) {
        for (int q = 0; q < 4; q++) {
          quarters.add(rateBetweenMarks(q * marks / 4 - 1, (q + 1) * marks / 4 - 1));
        }
      }
      json.put("latencyCount", latencyMicros.getTotalCount());
      json.put("p50Micros", latencyMicros.getValueAtPercentile(50));
      json.put("p99Micros", latencyMicros.getValueAtPercentile(99));
      json.put("p999Micros", latencyMicros.getValueAtPercentile(99.9));
      json.put("maxMicros", latencyMicros.getMaxValue());
      Path out = index == 0 ? report : report.resolveSibling(report.getFileName() + "-" + index);
      try {
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json.toPrettyString());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the bench report to " + out, e);
      }
    }
  }
}
