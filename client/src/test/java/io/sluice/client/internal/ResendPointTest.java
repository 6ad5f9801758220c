package io.sluice.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ResendPointTest {
  @Test
  void readsTheRealIngestsGapDescription() {
    // As IngestEndpoint words it.
    assertThat(
            ResendPoint.parse(
                "sequence gap for producer p-1: expected 101, got 301; events through 100 are safe,"
                    + " resend from 101"))
        .hasValue(101);
  }

  @Test
  void acceptsOtherWordingsThatNameTheSequence() {
    assertThat(ResendPoint.parse("Resend from sequence 7")).hasValue(7);
    assertThat(ResendPoint.parse("sequence gap: expected 12, got 20")).hasValue(12);
  }

  @Test
  void anythingElseHasNoResendPoint() {
    assertThat(ResendPoint.parse("malformed event at sequence 518")).isEmpty();
    assertThat(ResendPoint.parse("the first PublishRequest of a stream must set producer_id"))
        .isEmpty();
    assertThat(ResendPoint.parse("expected 5")).isEmpty(); // not a gap
    assertThat(ResendPoint.parse("resend from 0")).isEmpty();
    assertThat(ResendPoint.parse("resend from 99999999999999999999999")).isEmpty();
    assertThat(ResendPoint.parse(null)).isEmpty();
  }
}
