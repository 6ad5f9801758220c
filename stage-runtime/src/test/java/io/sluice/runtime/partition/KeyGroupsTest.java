package io.sluice.runtime.partition;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.proto.v1.KeyGroupRange;
import java.io.InputStream;
import java.util.HexFormat;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class KeyGroupsTest {
  private static JsonNode vectors() throws Exception {
    try (InputStream in = KeyGroups.class.getResourceAsStream("/sluice/v1/keygroup-vectors.json")) {
      assertThat(in).as("keygroup-vectors.json on the classpath (proto module)").isNotNull();
      return new ObjectMapper().readTree(in);
    }
  }

  @Test
  void hashesMatchThePublishedVectors() throws Exception {
    JsonNode hashes = vectors().get("hash");
    assertThat(hashes.size()).isGreaterThan(5);
    for (JsonNode v : hashes) {
      byte[] key = HexFormat.of().parseHex(v.get("key_hex").asText());
      assertThat(KeyGroups.murmur3(key)).as("murmur3 of %s", v.get("key")).isEqualTo(v.get("murmur3").asInt());
      assertThat(KeyGroups.keyGroup(key, 128)).isEqualTo(v.get("key_group_128").asInt());
      assertThat(KeyGroups.keyGroup(key, 100)).isEqualTo(v.get("key_group_100").asInt());
    }
  }

  @Test
  void rangesMatchThePublishedVectors() throws Exception {
    for (JsonNode v : vectors().get("ranges")) {
      int maxP = v.get("max_parallelism").asInt();
      int p = v.get("parallelism").asInt();
      for (int i = 0; i < p; i++) {
        assertThat(KeyGroups.rangeFor(i, p, maxP).getStart()).isEqualTo(v.get("starts").get(i).asInt());
      }
    }
  }

  @Property
  void everyKeyGroupHasExactlyTheOwnerThatRangeForNames(
      @ForAll @IntRange(min = 1, max = 300) int maxP, @ForAll @IntRange(min = 1, max = 300) int p) {
    if (p > maxP) {
      return;
    }
    int covered = 0;
    for (int i = 0; i < p; i++) {
      KeyGroupRange r = KeyGroups.rangeFor(i, p, maxP);
      covered += r.getEnd() - r.getStart();
      for (int kg = r.getStart(); kg < r.getEnd(); kg++) {
        assertThat(KeyGroups.instanceFor(kg, p, maxP)).isEqualTo(i);
      }
    }
    assertThat(covered).isEqualTo(maxP);
  }
}
