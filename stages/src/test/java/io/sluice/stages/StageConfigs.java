package io.sluice.stages;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.api.StageConfig;
import java.nio.file.Path;

/**
 * Stage settings for tests, written in relaxed JSON that reads almost like the spec's YAML flow
 * style: {@code {where: {field: '$.action', equals: 'purchase'}}}.
 */
public final class StageConfigs {
  private static final JsonMapper RELAXED =
      JsonMapper.builder()
          .enable(JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES)
          .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
          .build();

  private StageConfigs() {}

  public static StageConfig config(String stageName, String settings) {
    return config(stageName, settings, Path.of("."));
  }

  public static StageConfig config(String stageName, String settings, Path baseDir) {
    try {
      return new StageConfig(stageName, (ObjectNode) RELAXED.readTree(settings), baseDir);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("bad test settings: " + settings, e);
    }
  }

  public static byte[] utf8(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
