package io.sluice.runtime.checkpoint;

import java.io.IOException;

/**
 * A checkpoint file failed its check (bad magic, wrong length, checksum mismatch, unparsable
 * content). The message names the file and what was wrong; the checkpoint must not be loaded.
 */
public final class CorruptCheckpointException extends IOException {
  private static final long serialVersionUID = 1L;

  public CorruptCheckpointException(String message) {
    super(message);
  }

  public CorruptCheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
