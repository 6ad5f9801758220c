package io.sluice.runtime.checkpoint;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupRange;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.KeyedEntry;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StageCheckpoint;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

/** Builders of checkpoint messages and file helpers shared by the checkpoint tests. */
final class CheckpointTestData {
  static final int MAX_PARALLELISM = 128;

  private CheckpointTestData() {}

  static KeyGroupRange range(int start, int end) {
    return KeyGroupRange.newBuilder().setStart(start).setEnd(end).build();
  }

  static StateFileHeader header(String instanceId, long checkpointId, int start, int end) {
    return StateFileHeader.newBuilder()
        .setPipeline("orders")
        .setStage(instanceId.substring(0, instanceId.lastIndexOf('-')))
        .setInstanceId(instanceId)
        .setInstanceIndex(Integer.parseInt(instanceId.substring(instanceId.lastIndexOf('-') + 1)))
        .setParallelism(2)
        .setCheckpointId(checkpointId)
        .setMaxParallelism(MAX_PARALLELISM)
        .setKeyGroups(range(start, end))
        .build();
  }

  static KeyGroupState keyGroup(int keyGroup, int entries) {
    KeyGroupState.Builder b = KeyGroupState.newBuilder().setKeyGroup(keyGroup);
    for (int i = 0; i < entries; i++) {
      b.addEntries(
          KeyedEntry.newBuilder()
              .setKey(ByteString.copyFromUtf8("key-" + keyGroup + "-" + i))
              .setValue(ByteString.copyFromUtf8("value-" + i)));
    }
    b.addTimersBuilder()
        .setKey(ByteString.copyFromUtf8("key-" + keyGroup + "-0"))
        .setTimestamp(1_700_000_000_000L + keyGroup)
        .setProcessingTime(keyGroup % 2 == 0);
    return b.build();
  }

  static OperatorState operatorState(String tag) {
    return OperatorState.newBuilder()
        .addEntries(ByteString.copyFromUtf8("op-" + tag))
        .putSourcePositions("producer-" + tag, 42)
        .build();
  }

  static CheckpointMetadata metadata(long id, boolean savepoint, List<StateHandle> handles) {
    return CheckpointMetadata.newBuilder()
        .setPipeline("orders")
        .setCheckpointId(id)
        .setTriggeredAtMillis(1_700_000_000_000L + id)
        .setCompletedAtMillis(1_700_000_000_500L + id)
        .setSavepoint(savepoint)
        .setMaxParallelism(MAX_PARALLELISM)
        .setEpoch(3)
        .addStages(
            StageCheckpoint.newBuilder()
                .setStage("window")
                .setParallelism(handles.size())
                .addAllState(handles)
                .putSourcePositions("p1", 7))
        .build();
  }

  /** Replaces the byte at {@code position} by itself XOR {@code mask}. */
  static void flipByte(Path file, long position, int mask) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    bytes[Math.toIntExact(position)] ^= (byte) mask;
    Files.write(file, bytes);
  }

  static void truncate(Path file, long length) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, Math.toIntExact(length)));
  }

  /** Every regular file under {@code dir}, relative and with '/' separators. */
  static List<String> filesUnder(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .map(p -> dir.relativize(p).toString().replace('\\', '/'))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Collects a logger's records while open. */
  static final class CapturedLog implements AutoCloseable {
    private final Logger logger;
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler handler =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            synchronized (records) {
              records.add(record);
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };

    CapturedLog(Class<?> source) {
      this.logger = Logger.getLogger(source.getName());
      logger.addHandler(handler);
    }

    List<LogRecord> records() {
      synchronized (records) {
        return List.copyOf(records);
      }
    }

    @Override
    public void close() {
      logger.removeHandler(handler);
    }
  }
}
