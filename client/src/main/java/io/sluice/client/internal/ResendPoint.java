package io.sluice.client.internal;

import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads, from the description of the ingest's {@code INVALID_ARGUMENT} for a sequence gap, the
 * sequence to resend from. The ingest words it as {@code "sequence gap for producer P: expected N,
 * got M; events through N-1 are safe, resend from N"}; this accepts {@code "resend from N"}
 * anywhere, or else {@code "expected N"} after the word {@code "gap"}. Anything else (a malformed
 * event, a missing producer id) is not a gap and has no resend point. Stateless.
 */
public final class ResendPoint {
  private static final Pattern RESEND_FROM =
      Pattern.compile("resend from (?:sequence )?(\\d+)", Pattern.CASE_INSENSITIVE);
  private static final Pattern GAP_EXPECTED =
      Pattern.compile(
          "\\bgap\\b.*?\\bexpected (?:sequence )?(\\d+)", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

  private ResendPoint() {}

  /** The sequence to resend from, if {@code description} describes a sequence gap. */
  public static OptionalLong parse(String description) {
    if (description == null) {
      return OptionalLong.empty();
    }
    for (Pattern p : new Pattern[] {RESEND_FROM, GAP_EXPECTED}) {
      Matcher m = p.matcher(description);
      if (m.find()) {
        try {
          long sequence = Long.parseLong(m.group(1));
          if (sequence >= 1) {
            return OptionalLong.of(sequence);
          }
        } catch (NumberFormatException e) {
          // too many digits for a sequence: not one we can use
        }
      }
    }
    return OptionalLong.empty();
  }
}
