package io.sluice.runtime.api;

/**
 * A stage setting that is missing or wrong. The message names the setting; the spec loader adds
 * the stage and the line.
 */
public class ConfigException extends RuntimeException {
  private final String key;

  public ConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The setting's key path, e.g. "where.field"; "" when it concerns the stage as a whole. */
  public String key() {
    return key;
  }
}
