package io.sluice.cli.send;

import com.google.common.net.HostAndPort;
import io.grpc.ManagedChannel;
import io.sluice.cli.ExitCodes;
import io.sluice.cli.grpc.Channels;
import io.sluice.cli.grpc.HostPortConverter;
import io.sluice.cli.grpc.StatusMessages;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice send}: streams events to an ingest stage and waits for them to be acked. */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    header = "Stream events to an ingest stage and wait for their acks.",
    description = {
      "Streams events to an ingest stage (IngestService.Publish), with flow control: a"
          + " backpressured pipeline slows the sender down. Waits until every event is acked,"
          + " then prints a summary.",
      "Every event is kept until the ingest acks it. When the stream breaks (the ingest"
          + " restarts, or the pipeline restores a checkpoint), send reconnects with backoff"
          + " (100 ms doubling to 5 s) and resends from the first unacked event; the ingest drops"
          + " the repeats. It gives up when no ack arrives for --ack-timeout seconds.",
      "Memory: at most --max-unacked events are held; reading the input waits beyond that. With"
          + " checkpoints on, acks come only once a checkpoint completes, so one sender's rate is"
          + " at most about --max-unacked / checkpoint interval.",
      "A bad input line stops reading: the lines before it are still sent and acked, the error"
          + " names the line, and the exit code is 2."
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:every event sent and acked",
      "1:the ingest refused the events, or no ack came for --ack-timeout (the error says which"
          + " events were acked)",
      "2:bad usage or a bad input line"
    })
public final class SendCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--to",
      required = true,
      paramLabel = "HOST:PORT",
      converter = HostPortConverter.class,
      description = "The ingest stage instance to send to (see `sluice status`).")
  HostAndPort to;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Input input;

  static final class Input {
    @Option(
        names = "--file",
        paramLabel = "FILE",
        description = "JSON lines to send, one event per line; '-' reads standard input.")
    String file;

    @Option(
        names = {"--generate", "--count"},
        paramLabel = "N",
        description = "Send N synthetic click events (deterministic given --seed); --count is the same.")
    Long generate;
  }

  @Option(
      names = "--rate",
      paramLabel = "R",
      defaultValue = "0",
      description = "Events per second; 0 (the default) means as fast as the pipeline takes them.")
  double rate;

  @Option(
      names = "--producer",
      paramLabel = "ID",
      description =
          "Producer id; keep it when resending after a failure so repeats are dropped"
              + " (default: a random UUID).")
  String producer;

  @Option(
      names = "--batch",
      paramLabel = "N",
      defaultValue = "256",
      description = "Most events per request (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(
      names = "--keys",
      paramLabel = "K",
      defaultValue = "1000",
      description = "Generator: number of distinct keys (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--payload-bytes",
      paramLabel = "B",
      defaultValue = "100",
      description = "Generator: approximate payload size in bytes (default: ${DEFAULT-VALUE}).")
  int payloadBytes;

  @Option(
      names = "--seed",
      paramLabel = "S",
      defaultValue = "1",
      description = "Generator: random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--ack-timeout",
      paramLabel = "SECONDS",
      defaultValue = "120",
      description =
          "Fail when no ack arrives for this long while events are unacked, connected or"
              + " reconnecting (default: ${DEFAULT-VALUE}).")
  long ackTimeoutSeconds;

  @Option(
      names = "--max-unacked",
      paramLabel = "N",
      defaultValue = "100000",
      description =
          "Most events held until acked, to resend after a broken stream; reading waits beyond it"
              + " (default: ${DEFAULT-VALUE}).")
  int maxUnacked;

  @Option(names = "--quiet", description = "No progress line; only the summary and errors.")
  boolean quiet;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Publisher.Options options;
    try {
      if (keys < 1) {
        throw new IllegalArgumentException("--keys must be at least 1, got " + keys);
      }
      if (payloadBytes < 0 || (input.generate != null && input.generate < 0)) {
        throw new IllegalArgumentException("--payload-bytes and --generate must be >= 0");
      }
      if (ackTimeoutSeconds < 1) {
        throw new IllegalArgumentException("--ack-timeout must be at least 1 second");
      }
      if (batch < 1) {
        throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
      }
      if (maxUnacked < batch) {
        throw new IllegalArgumentException(
            "--max-unacked (" + maxUnacked + ") must be at least --batch (" + batch + ")");
      }
      String producerId = producer != null ? producer : UUID.randomUUID().toString();
      options =
          Publisher.Options.defaults(producerId)
              .withBatchSize(batch)
              .withRate(rate)
              .withAckTimeout(Duration.ofSeconds(ackTimeoutSeconds))
              .withMaxUnacked(maxUnacked);
    } catch (IllegalArgumentException e) {
      err.println("sluice send: " + e.getMessage());
      return ExitCodes.USAGE;
    }

    EventSource source;
    try {
      if (input.file != null) {
        if (!input.file.equals("-") && !Files.isReadable(Path.of(input.file))) {
          err.println("sluice send: cannot read " + input.file + ": no such readable file");
          return ExitCodes.USAGE;
        }
        source = JsonLinesSource.open(input.file);
      } else {
        source =
            new EventGenerator(options.producerId(), seed, keys, payloadBytes)
                .source(input.generate);
      }
    } catch (IOException e) {
      err.println("sluice send: cannot read " + input.file + ": " + e.getMessage());
      return ExitCodes.USAGE;
    }

    ManagedChannel channel = Channels.open(to);
    Publisher publisher = new Publisher(channel, options);
    ProgressLine progress =
        quiet ? null : new ProgressLine(publisher, err, System.console() != null);
    try (source) {
      PublishSummary summary = publisher.publish(source);
      closeQuietly(progress);
      out.println(summary);
      return ExitCodes.OK;
    } catch (BadInputException e) {
      closeQuietly(progress);
      e.sentBefore().ifPresent(out::println);
      long acked = e.sentBefore().map(PublishSummary::ackedThrough).orElse(0L);
      err.println(
          "sluice send: "
              + e.getMessage()
              + "\nstopped reading there; every event before it was sent and acked (through"
              + " sequence "
              + acked
              + "). Fix the line and send the rest.");
      return ExitCodes.USAGE;
    } catch (PublishException e) {
      closeQuietly(progress);
      err.println(
          "sluice send: "
              + StatusMessages.describe(e.status(), "the ingest", to)
              + "\n"
              + e.progress().events()
              + " events written, acked through sequence "
              + e.progress().ackedThrough()
              + (e.progress().reconnects() > 0
                  ? " after " + e.progress().reconnects() + " reconnects"
                  : "")
              + " (those are safe; resend the rest with --producer "
              + options.producerId()
              + ")");
      return ExitCodes.FAILURE;
    } catch (IOException e) {
      closeQuietly(progress);
      err.println("sluice send: reading the input failed: " + e.getMessage());
      return ExitCodes.FAILURE;
    } catch (InterruptedException e) {
      closeQuietly(progress);
      Thread.currentThread().interrupt();
      err.println("sluice send: interrupted");
      return ExitCodes.FAILURE;
    } finally {
      closeQuietly(progress);
      Channels.close(channel);
    }
  }

  private static void closeQuietly(ProgressLine progress) {
    if (progress != null) {
      progress.close();
    }
  }
}
