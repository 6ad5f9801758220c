package io.sluice.cli.enrich;

import io.sluice.cli.ExitCodes;
import io.sluice.stages.enrich.ExampleEnrichmentService;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice enrich-service}: runs the small HTTP enrichment service that the example
 * compaction pipeline's {@code enrich} stage calls, optionally failing and slow on purpose, until
 * Ctrl-C.
 */
@Command(
    name = "enrich-service",
    mixinStandardHelpOptions = true,
    header = "Run the example enrichment service (HTTP) for the compaction example.",
    description = {
      "Serves POST " + ExampleEnrichmentService.PATH + ": a JSON object in, the fields it adds out"
          + " (or arrays of them), as the enrich stage expects.",
      "--failure-rate and --max-latency make it fail and answer slowly at random, to watch retries"
          + " and dead letters."
    })
public final class EnrichServiceCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--port", defaultValue = "7100", description = "Where to listen (default 7100).")
  int port;

  @Option(
      names = "--failure-rate",
      defaultValue = "0",
      paramLabel = "RATIO",
      description = "Share of calls answered with 503, from 0 to 1 (default 0).")
  double failureRate;

  @Option(
      names = "--max-latency",
      defaultValue = "0",
      paramLabel = "MILLIS",
      description = "Answer after a random delay up to this many milliseconds (default 0).")
  long maxLatencyMillis;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the random failures and delays.")
  long seed;

  @Override
  public Integer call() throws InterruptedException {
    if (!(failureRate >= 0 && failureRate <= 1) || maxLatencyMillis < 0 || port < 0 || port > 65535) {
      spec.commandLine().getErr().println(
          "sluice enrich-service: --failure-rate must be in [0, 1], --max-latency >= 0 and --port in [0, 65535]");
      return ExitCodes.USAGE;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    try (ExampleEnrichmentService service =
        ExampleEnrichmentService.start(port, failureRate, Duration.ofMillis(maxLatencyMillis), seed)) {
      spec.commandLine().getOut().println("enrichment service on " + service.uri() + " (Ctrl-C stops it)");
      spec.commandLine().getOut().flush();
      Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "enrich-service-stop"));
      stopped.await();
    }
    return ExitCodes.OK;
  }
}
