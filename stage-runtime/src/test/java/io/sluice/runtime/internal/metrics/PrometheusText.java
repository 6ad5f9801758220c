package io.sluice.runtime.internal.metrics;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A scrape of a Prometheus endpoint over real HTTP, parsed from the text exposition format
 * (version 0.0.4): one sample per line, {@code name{label="value",...} value [timestamp]}. Only
 * what tests need; the OpenTelemetry exporter brings no parser, and a test that matched lines with
 * regular expressions would depend on the order of labels. Shared with the integration tests of
 * the cli module through the test jar.
 *
 * <p>Immutable; the static methods are thread-safe.
 */
public final class PrometheusText {
  /** One sample line. */
  public record Sample(String name, Map<String, String> labels, double value) {
    /** True if every label of {@code wanted} is on this sample with that value. */
    public boolean has(Map<String, String> wanted) {
      for (Map.Entry<String, String> e : wanted.entrySet()) {
        if (!e.getValue().equals(labels.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
  }

  private final List<Sample> samples;

  private PrometheusText(List<Sample> samples) {
    this.samples = List.copyOf(samples);
  }

  /** GETs {@code metricsUrl} (e.g. {@code http://127.0.0.1:9464/metrics}) and parses the body. */
  public static PrometheusText scrape(HttpClient http, URI metricsUrl) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(
        HttpRequest.newBuilder(metricsUrl).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("GET " + metricsUrl + " answered " + r.statusCode() + ": " + r.body());
    }
    return parse(r.body());
  }

  /** Parses the text format; comments ({@code # HELP}, {@code # TYPE}) and blank lines are skipped. */
  public static PrometheusText parse(String text) {
    List<Sample> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        out.add(parseLine(line));
      }
    }
    return new PrometheusText(out);
  }

  private static Sample parseLine(String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    Map<String, String> labels = new TreeMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        String label = line.substring(i, eq).trim();
        StringBuilder value = new StringBuilder();
        int j = eq + 2; // past ="
        while (line.charAt(j) != '"') {
          char c = line.charAt(j);
          if (c == '\\') {
            char n = line.charAt(++j);
            value.append(n == 'n' ? '\n' : n);
          } else {
            value.append(c);
          }
          j++;
        }
        labels.put(label, value.toString());
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    String[] rest = line.substring(i).trim().split("\\s+");
    return new Sample(name, labels, number(rest[0], line));
  }

  private static double number(String s, String line) {
    switch (s) {
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      default:
        try {
          return Double.parseDouble(s);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("not a Prometheus sample line: " + line, e);
        }
    }
  }

  /** Every sample. */
  public List<Sample> samples() {
    return samples;
  }

  /** The samples named {@code name} that carry every label of {@code labels}. */
  public List<Sample> all(String name, Map<String, String> labels) {
    return samples.stream().filter(s -> s.name().equals(name) && s.has(labels)).toList();
  }

  /** The value of the one sample named {@code name} with {@code labels}; empty if none. */
  public Optional<Double> value(String name, Map<String, String> labels) {
    List<Sample> found = all(name, labels);
    if (found.size() > 1) {
      throw new IllegalStateException(found.size() + " samples match " + name + labels + ": " + found);
    }
    return found.stream().findFirst().map(Sample::value);
  }

  /** Like {@link #value}, failing with the scrape's sample names when there is none. */
  public double require(String name, Map<String, String> labels) {
    return value(name, labels).orElseThrow(() -> new AssertionError(
        "no sample " + name + labels + " among " + samples.stream().map(Sample::name).distinct().toList()));
  }
}
