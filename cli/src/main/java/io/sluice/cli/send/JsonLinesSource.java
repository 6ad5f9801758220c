package io.sluice.cli.send;

import io.sluice.proto.v1.Event;
import io.sluice.stages.format.JsonLines;
import io.sluice.stages.format.JsonLinesException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Events read from JSON lines ({@code {"id": …, "key": …, "time": …, "payload": {…}}}, one per
 * line; see {@link JsonLines}), from a file or standard input. A line without {@code time} gets the
 * sender's clock. Blank lines are skipped but still counted, so line numbers in errors match an
 * editor's. Thread-compatible.
 */
public final class JsonLinesSource implements EventSource {
  private final BufferedReader reader;
  private final String name;
  private long lineNumber;

  /**
   * @param reader the lines; closed by {@link #close()}
   * @param name what errors call the input, e.g. {@code events.jsonl} or {@code <stdin>}
   */
  public JsonLinesSource(BufferedReader reader, String name) {
    this.reader = reader;
    this.name = name;
  }

  /** Reads {@code file}, or standard input when it is {@code "-"}. */
  public static JsonLinesSource open(String file) throws IOException {
    if (file.equals("-")) {
      return new JsonLinesSource(
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), "<stdin>");
    }
    Path path = Path.of(file);
    return new JsonLinesSource(Files.newBufferedReader(path, StandardCharsets.UTF_8), file);
  }

  @Override
  public Event next() throws BadInputException, IOException {
    String line;
    do {
      line = reader.readLine();
      if (line == null) {
        return null;
      }
      lineNumber++;
    } while (line.isBlank());
    try {
      // A line without "time" happens now, by this sender's clock.
      return JsonLines.parse(line, lineNumber, System.currentTimeMillis());
    } catch (JsonLinesException e) {
      throw new BadInputException(
          name + ":" + e.lineNumber() + ": " + e.problem(), e.lineNumber(), e);
    }
  }

  @Override
  public void close() throws IOException {
    reader.close();
  }
}
