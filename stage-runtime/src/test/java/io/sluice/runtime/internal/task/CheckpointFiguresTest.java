package io.sluice.runtime.internal.task;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.Barrier;
import io.sluice.proto.v1.ChannelOpen;
import io.sluice.proto.v1.CheckpointAck;
import io.sluice.proto.v1.CheckpointMode;
import io.sluice.proto.v1.CheckpointSettings;
import io.sluice.proto.v1.Event;
import io.sluice.proto.v1.EventBatch;
import io.sluice.proto.v1.Frame;
import io.sluice.proto.v1.Registered;
import io.sluice.proto.v1.RouteUpdate;
import io.sluice.proto.v1.StageReport;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.checkpoint.DirectoryCheckpointStore;
import io.sluice.runtime.internal.exchange.ChannelPool;
import io.sluice.runtime.internal.exchange.ExchangeSettings;
import io.sluice.runtime.internal.metrics.MetricsEndpoint;
import io.sluice.runtime.internal.metrics.PrometheusText;
import io.sluice.runtime.internal.metrics.TaskMetrics;
import io.sluice.runtime.internal.routing.OutputRouter;
import io.sluice.runtime.internal.state.SnapshotWriter;
import io.sluice.runtime.partition.KeyGroups;
import io.sluice.runtime.internal.trace.StageTracing;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint driven through a subtask with two input channels and the real snapshot writer: its
 * alignment, snapshot, duration and size reach the Prometheus endpoint, under the instance's
 * labels, and agree with the ack sent to the coordinator. The subtask's clock is fake, so the
 * alignment time is exactly what the test lets pass between the two barriers.
 */
class CheckpointFiguresTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Map<String, String> COUNT_0 = Map.of("stage", "count", "instance", "count-0");
  private static final long ALIGNMENT_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final BlockingQueue<StageReport> reports = new LinkedBlockingQueue<>();
  private final ExecutorService snapshotThread = Executors.newSingleThreadExecutor();
  private final TaskMetrics metrics = new TaskMetrics();
  private MetricsEndpoint endpoint;
  private Subtask subtask;
  private Thread thread;

  @AfterEach
  void stop() throws InterruptedException {
    if (subtask != null) {
      subtask.stop("test over");
      thread.join(5_000);
    }
    snapshotThread.shutdownNow();
    if (endpoint != null) {
      endpoint.close();
    }
  }

  @Test
  void anAckedCheckpointsFiguresReachThePrometheusEndpoint(@TempDir Path dir) throws Exception {
    BarrierAlignmentTest.TestChannel[] ch = start(dir.resolve("checkpoints"));

    ch[0].offer(batch("a", 3));
    ch[0].offer(barrier(1));
    ch[0].offer(batch("a", 5)); // held: it came after a's barrier
    awaitBarrierHandled(ch[0]);
    clock.addAndGet(ALIGNMENT_NANOS); // b's barrier comes 250 ms after a's
    ch[1].offer(batch("b", 2));
    ch[1].offer(barrier(1));

    StageReport report = reports.poll(10, TimeUnit.SECONDS);
    assertThat(report).isNotNull();
    assertThat(report.hasCheckpointAck()).as("%s", report).isTrue();
    CheckpointAck ack = report.getCheckpointAck();
    assertThat(ack.getCheckpointId()).isEqualTo(1);
    assertThat(ack.getAlignmentMillis()).isEqualTo(250);
    long size = ack.getState(0).getSizeBytes();
    assertThat(size).isPositive();

    PrometheusText text = scrape();
    assertThat(text.require("sluice_checkpoint_alignment_time_milliseconds_count", COUNT_0)).isEqualTo(1.0);
    assertThat(text.require("sluice_checkpoint_alignment_time_milliseconds_sum", COUNT_0)).isEqualTo(250.0);
    assertThat(text.require("sluice_checkpoint_alignment_time_milliseconds_bucket", with("le", "100.0"))).isZero();
    assertThat(text.require("sluice_checkpoint_alignment_time_milliseconds_bucket", with("le", "250.0"))).isEqualTo(1.0);
    assertThat(text.require("sluice_checkpoint_snapshot_time_milliseconds_count", COUNT_0)).isEqualTo(1.0);
    // The duration holds the alignment, the snapshot and the wait for the snapshot thread (real time).
    double snapshotMillis = text.require("sluice_checkpoint_snapshot_time_milliseconds_sum", COUNT_0);
    assertThat(text.require("sluice_checkpoint_duration_milliseconds_sum", COUNT_0))
        .isGreaterThanOrEqualTo(250.0 + snapshotMillis)
        .isLessThan(250.0 + 10_000);
    assertThat(text.require("sluice_checkpoint_size_bytes_sum", COUNT_0)).isEqualTo((double) size);
    assertThat(text.require("sluice_last_checkpoint_size_bytes", COUNT_0)).isEqualTo((double) size);
    assertThat(text.require("sluice_last_checkpoint_id", COUNT_0)).isEqualTo(1.0);
    assertThat(text.require("sluice_checkpoints_total", with("result", "acked"))).isEqualTo(1.0);
    assertThat(text.value("sluice_checkpoints_total", with("result", "declined"))).isEmpty();
  }

  @Test
  void aDeclinedCheckpointIsCountedAndRecordsNoFigures(@TempDir Path dir) throws Exception {
    Path notADirectory = Files.writeString(dir.resolve("checkpoints"), "a file where the store's folder should be");
    BarrierAlignmentTest.TestChannel[] ch = start(notADirectory);

    ch[0].offer(barrier(1));
    ch[1].offer(barrier(1));

    StageReport report = reports.poll(10, TimeUnit.SECONDS);
    assertThat(report).isNotNull();
    assertThat(report.hasCheckpointDecline()).as("%s", report).isTrue();
    PrometheusText text = scrape();
    assertThat(text.require("sluice_checkpoints_total", with("result", "declined"))).isEqualTo(1.0);
    assertThat(text.value("sluice_checkpoints_total", with("result", "acked"))).isEmpty();
    assertThat(text.value("sluice_checkpoint_duration_milliseconds_count", COUNT_0)).isEmpty();
    assertThat(text.value("sluice_last_checkpoint_id", COUNT_0)).isEmpty();
  }

  private BarrierAlignmentTest.TestChannel[] start(Path storeRoot) throws Exception {
    ExchangeSettings settings = ExchangeSettings.DEFAULTS;
    Mailbox mailbox = new Mailbox(clock::get);
    StageDefinition<String, String, String, String> def = StageDefinition.of(
        Serdes.string(), Serdes.string(), Serdes.string(), Serdes.string(), BarrierAlignmentTest.Counter::new);
    OutputRouter router = new OutputRouter("p", "count", "count-0", 0, settings, mailbox, metrics,
        new ChannelPool(settings));
    OperatorRunner<String, String, String, String> runner = new OperatorRunner<>(
        "count", "count-0", 0, def, router, mailbox, Clock.systemUTC(), metrics,
        StageTracing.off());
    subtask = new Subtask("count-0", mailbox, runner, router, metrics, (s, r) -> {}, false, null, 0, null);

    endpoint = MetricsEndpoint.start("127.0.0.1", 0, "count", metrics, subtask::watermark);
    endpoint.identify("count-0");
    Registered registered = Registered.newBuilder()
        .setPipeline("p").setInstanceId("count-0").setIndex(0).setParallelism(1)
        .setMaxParallelism(KeyGroups.DEFAULT_MAX_PARALLELISM).setEpoch(1)
        .setCheckpoints(CheckpointSettings.newBuilder()
            .setStorageDir(storeRoot.toString()).setMode(CheckpointMode.CHECKPOINT_MODE_EXACTLY_ONCE))
        .build();
    subtask.checkpoints(new SnapshotWriter(new DirectoryCheckpointStore(storeRoot), snapshotThread, registered,
        "count", 1, KeyGroups.rangeFor(0, 1, KeyGroups.DEFAULT_MAX_PARALLELISM), 1,
        KeyGroups.DEFAULT_MAX_PARALLELISM, reports::add, endpoint.checkpoints()));

    subtask.applyRoutes(RouteUpdate.newBuilder().setVersion(1).addInputs("a-0").addInputs("b-0").build());
    BarrierAlignmentTest.TestChannel[] ch = {
      new BarrierAlignmentTest.TestChannel("a-0 → count-0", mailbox),
      new BarrierAlignmentTest.TestChannel("b-0 → count-0", mailbox)
    };
    subtask.attach(ch[0], ChannelOpen.newBuilder().setFromInstance("a-0").build());
    subtask.attach(ch[1], ChannelOpen.newBuilder().setFromInstance("b-0").build());
    thread = new Thread(subtask, "count-0");
    thread.start();
    return ch;
  }

  /**
   * Waits until the subtask has handled the barrier on {@code ch}: the barrier was taken (only the
   * held batch after it is left), and an action queued after that has run, which the subtask does
   * only between frames.
   */
  private void awaitBarrierHandled(BarrierAlignmentTest.TestChannel ch) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (ch.depth() > 1 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(ch.depth()).as("the barrier is taken, the batch after it held").isEqualTo(1);
    CountDownLatch between = new CountDownLatch(1);
    subtask.mailbox().execute(between::countDown);
    assertThat(between.await(5, TimeUnit.SECONDS)).isTrue();
  }

  private static Frame batch(String key, int n) {
    EventBatch.Builder b = EventBatch.newBuilder();
    for (int i = 0; i < n; i++) {
      b.addEvents(Event.newBuilder().setKey(ByteString.copyFromUtf8(key)).setPayload(ByteString.copyFromUtf8("x")));
    }
    return Frame.newBuilder().setBatch(b).build();
  }

  private static Frame barrier(long id) {
    return Frame.newBuilder().setBarrier(Barrier.newBuilder().setCheckpointId(id)).build();
  }

  private static Map<String, String> with(String key, String value) {
    Map<String, String> m = new java.util.HashMap<>(COUNT_0);
    m.put(key, value);
    return m;
  }

  private PrometheusText scrape() throws Exception {
    return PrometheusText.scrape(HTTP, URI.create("http://127.0.0.1:" + endpoint.port() + "/metrics"));
  }
}
