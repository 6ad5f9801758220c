package io.sluice.cli.send;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.proto.v1.Event;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EventGeneratorTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void theSameSettingsGiveTheSameEvents() throws Exception {
    EventGenerator a = new EventGenerator("prod", 42, 1000, 100);
    EventGenerator b = new EventGenerator("prod", 42, 1000, 100);
    EventSource source = a.source(2_000);
    for (long i = 1; i <= 2_000; i++) {
      assertThat(source.next()).isEqualTo(b.event(i));
    }
    assertThat(source.next()).isNull();
  }

  @Test
  void anEventDoesNotDependOnTheEventsBeforeIt() {
    EventGenerator gen = new EventGenerator("prod", 42, 1000, 100);
    Event direct = gen.event(12_345);
    for (long i = 1; i < 100; i++) {
      gen.event(i);
    }
    assertThat(gen.event(12_345)).isEqualTo(direct);
  }

  @Test
  void anotherSeedGivesOtherEvents() {
    EventGenerator a = new EventGenerator("prod", 1, 1000, 100);
    EventGenerator b = new EventGenerator("prod", 2, 1000, 100);
    int same = 0;
    for (long i = 1; i <= 1000; i++) {
      if (a.describe(i).key().equals(b.describe(i).key())) {
        same++;
      }
    }
    assertThat(same).isLessThan(20); // about 1 in 1000 by chance
  }

  @Test
  void theFirstEventsOfSeedOneArePinnedSoReferencesMatchAcrossJvms() {
    // If these change, every stored reference result (benchmarks, demo) changes with them.
    EventGenerator gen = new EventGenerator("p", 1, 1000, 100);
    assertThat(gen.describe(1))
        .isEqualTo(
            new EventGenerator.GeneratedEvent(
                1, "p-1", PINNED_KEY_1, 1_767_225_600_001L, PINNED_ACTION_1, PINNED_PRICE_1));
    assertThat(gen.describe(2).key()).isEqualTo(PINNED_KEY_2);
  }

  @Test
  void fieldsFollowTheDocumentedShape() throws Exception {
    EventGenerator gen = new EventGenerator("shop", 9, 17, 100);
    Set<String> keys = new HashSet<>();
    Map<String, Integer> actions = new HashMap<>();
    for (long i = 1; i <= 10_000; i++) {
      Event e = gen.event(i);
      EventGenerator.GeneratedEvent g = gen.describe(i);
      assertThat(e.getId()).isEqualTo("shop-" + i);
      assertThat(e.getEventTime()).isEqualTo(EventGenerator.BASE_EPOCH_MILLIS + i);
      assertThat(e.getKey().toStringUtf8()).isEqualTo(g.key()).matches("user-(\\d|1[0-6])");
      assertThat(e.getContentType()).isEqualTo("application/json");
      JsonNode payload = JSON.readTree(e.getPayload().toByteArray());
      assertThat(payload.get("user").asText()).isEqualTo(g.key());
      assertThat(payload.get("action").asText()).isEqualTo(g.action());
      assertThat(payload.get("seq").asLong()).isEqualTo(i);
      assertThat(payload.get("price").decimalValue()).isEqualByComparingTo(g.price());
      assertThat(g.price().scale()).isEqualTo(2);
      assertThat(g.price()).isBetween(new BigDecimal("1.00"), new BigDecimal("999.99"));
      keys.add(g.key());
      actions.merge(g.action(), 1, Integer::sum);
    }
    assertThat(keys).hasSize(17);
    assertThat(actions.keySet()).containsExactlyInAnyOrder("view", "click", "purchase");
    // Drawn from [view, click, purchase, view, view]: purchase about 1 in 5.
    assertThat(actions.get("purchase")).isBetween(1_700, 2_300);
    assertThat(actions.get("view")).isBetween(5_600, 6_400);
  }

  @Test
  void payloadsAreAsLargeAsAsked() {
    for (int size : new int[] {100, 137, 500, 4096}) {
      EventGenerator gen = new EventGenerator("p", 5, 1000, size);
      for (long i : new long[] {1, 9, 99_999, 123_456_789}) {
        byte[] payload = gen.event(i).getPayload().toByteArray();
        assertThat(payload.length).as("size %d, event %d", size, i).isEqualTo(size);
        assertThat(new String(payload, StandardCharsets.UTF_8)).startsWith("{\"user\":");
      }
    }
    // Too small to pad: just the fields.
    byte[] tiny = new EventGenerator("p", 5, 1000, 10).event(1).getPayload().toByteArray();
    assertThat(new String(tiny, StandardCharsets.UTF_8)).doesNotContain("pad");
  }

  @Test
  void rejectsNonsense() {
    assertThatThrownBy(() -> new EventGenerator("p", 1, 0, 100))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new EventGenerator("p", 1, 10, 100).describe(0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // Recorded from the generator as first written; see the test above.
  private static final String PINNED_KEY_1 = "user-302";
  private static final String PINNED_ACTION_1 = "click";
  private static final BigDecimal PINNED_PRICE_1 = new BigDecimal("127.37");
  private static final String PINNED_KEY_2 = "user-86";
}
