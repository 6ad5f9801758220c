package io.sluice.coordinator.dashboard;

import io.sluice.coordinator.admin.StatusReporter;
import io.sluice.coordinator.events.ErrorLog;
import io.sluice.proto.v1.PipelineStatus;
import io.sluice.proto.v1.StageStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Takes the pipeline's status at a fixed period: adds each stage's rate and backpressure to the
 * {@link RateHistory}, and has the {@link DeadLetterWatch} compare dead-letter counts.
 *
 * <p>{@link #sample()} must not run concurrently with itself: production runs it on one
 * scheduler thread ({@link #schedule}), tests call it directly.
 */
public final class StatusSampler {
  private static final System.Logger LOG = System.getLogger(StatusSampler.class.getName());

  private final StatusReporter reporter;
  private final RateHistory history;
  private final DeadLetterWatch deadLetters;
  private final Set<String> sources;
  private final Clock clock;

  /**
   * @param sources the names of the source stages, whose rate is what they send
   * @param errors where growing dead-letter counts are recorded
   * @param clock stamps the samples
   */
  public StatusSampler(
      StatusReporter reporter, RateHistory history, Set<String> sources, ErrorLog errors,
      Clock clock) {
    this.reporter = reporter;
    this.history = history;
    this.deadLetters = new DeadLetterWatch(errors);
    this.sources = Set.copyOf(sources);
    this.clock = clock;
  }

  /** Takes one sample now. */
  public void sample() {
    PipelineStatus status = reporter.status();
    Map<String, RateHistory.Point> points = new LinkedHashMap<>();
    for (StageStatus stage : status.getStagesList()) {
      StageFigures figures = StageFigures.of(stage);
      points.put(stage.getName(), new RateHistory.Point(
          figures.rate(sources.contains(stage.getName())), figures.backpressuredRatio()));
      deadLetters.observe(stage.getName(), figures.deadLetters());
    }
    history.add(new RateHistory.Sample(clock.millis(), points));
  }

  /** Runs {@link #sample()} every {@code period} on the scheduler; cancel the returned future. */
  public ScheduledFuture<?> schedule(ScheduledExecutorService scheduler, Duration period) {
    long millis = Math.max(1, period.toMillis());
    return scheduler.scheduleAtFixedRate(() -> {
      try {
        sample();
      } catch (RuntimeException e) {
        // A failing sample must not cancel the schedule: the plots would freeze for good.
        LOG.log(System.Logger.Level.WARNING, "dashboard sample failed; retrying at the next tick",
            e);
      }
    }, 0, millis, TimeUnit.MILLISECONDS);
  }
}
