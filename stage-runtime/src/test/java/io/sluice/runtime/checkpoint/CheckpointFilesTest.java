package io.sluice.runtime.checkpoint;

import static io.sluice.runtime.checkpoint.CheckpointTestData.flipByte;
import static io.sluice.runtime.checkpoint.CheckpointTestData.header;
import static io.sluice.runtime.checkpoint.CheckpointTestData.keyGroup;
import static io.sluice.runtime.checkpoint.CheckpointTestData.operatorState;
import static io.sluice.runtime.checkpoint.CheckpointTestData.truncate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.sluice.proto.v1.CheckpointMetadata;
import io.sluice.proto.v1.KeyGroupState;
import io.sluice.proto.v1.KeyedEntry;
import io.sluice.proto.v1.OperatorState;
import io.sluice.proto.v1.StateFileHeader;
import io.sluice.proto.v1.StateHandle;
import io.sluice.runtime.checkpoint.CheckpointFiles.Frame;
import io.sluice.runtime.checkpoint.CheckpointStore.InstanceStateFile;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointFilesTest {
  private static final String NAME = "chk-7/window-1.state";

  @TempDir Path dir;

  private final StateFileHeader header = header("window-1", 7, 64, 128);
  private final List<KeyGroupState> groups = List.of(keyGroup(64, 3), keyGroup(65, 0), keyGroup(100, 5));
  private final OperatorState operatorState = operatorState("a");

  private Path writeSmallState() throws IOException {
    Path file = dir.resolve("window-1.state");
    CheckpointFiles.writeState(file, header, groups, operatorState);
    return file;
  }

  @Test
  void stateFileRoundTripsWithSeveralKeyGroupsAndOperatorState() throws IOException {
    Path file = dir.resolve("window-1.state");
    Frame frame = CheckpointFiles.writeState(file, header, groups, operatorState);

    InstanceStateFile read = CheckpointFiles.readState(file, NAME, frame);

    assertThat(read.header()).isEqualTo(header);
    assertThat(read.keyGroups()).containsExactlyElementsOf(groups);
    assertThat(read.operatorState()).isEqualTo(operatorState);
    assertThat(frame.sizeBytes()).isEqualTo(Files.size(file));
    assertThat(CheckpointTestData.filesUnder(dir)).containsExactly("window-1.state");
  }

  @Test
  void theFrameIsMagicVersionLengthPayloadAndCrc32cOfThePayload() throws IOException {
    Path file = writeSmallState();
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer b = ByteBuffer.wrap(bytes);

    assertThat(new String(bytes, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("SLCK");
    assertThat(b.getInt(4)).isEqualTo(CheckpointFiles.FORMAT_VERSION);
    long length = b.getLong(8);
    assertThat(length).isEqualTo(bytes.length - 20L);
    CRC32C crc = new CRC32C();
    crc.update(bytes, 16, (int) length);
    assertThat(b.getInt(16 + (int) length)).isEqualTo((int) crc.getValue());

    // The payload is exactly what writeDelimitedTo/parseDelimitedFrom speak.
    ByteArrayInputStream payload = new ByteArrayInputStream(bytes, 16, (int) length);
    assertThat(StateFileHeader.parseDelimitedFrom(payload)).isEqualTo(header);
    for (KeyGroupState group : groups) {
      assertThat(KeyGroupState.parseDelimitedFrom(payload)).isEqualTo(group);
    }
    assertThat(OperatorState.parseDelimitedFrom(payload)).isEqualTo(operatorState);
    assertThat(payload.available()).isZero();
  }

  @Test
  void emptyStateRoundTrips() throws IOException {
    Path file = dir.resolve("filter-0.state");
    StateFileHeader noKeys = StateFileHeader.newBuilder().setInstanceId("filter-0").setCheckpointId(1).build();
    Frame frame = CheckpointFiles.writeState(file, noKeys, List.of(), OperatorState.getDefaultInstance());

    InstanceStateFile read = CheckpointFiles.readState(file, "chk-1/filter-0.state", frame);

    assertThat(read.header()).isEqualTo(noKeys);
    assertThat(read.keyGroups()).isEmpty();
    assertThat(read.operatorState()).isEqualTo(OperatorState.getDefaultInstance());
  }

  @Test
  void metadataRoundTrips() throws IOException {
    Path file = dir.resolve("_metadata");
    StateHandle handle = StateHandle.newBuilder().setUri("chk-7/window-1.state").setSizeBytes(99).build();
    CheckpointMetadata metadata = CheckpointTestData.metadata(7, false, List.of(handle));

    CheckpointFiles.writeMetadata(file, metadata);

    assertThat(CheckpointFiles.readMetadata(file, "chk-7/_metadata")).isEqualTo(metadata);
  }

  @Test
  void aFileCutAnywhereIsReportedTruncated() throws IOException {
    byte[] whole = Files.readAllBytes(writeSmallState());
    Path cut = dir.resolve("cut.state");
    // Every length short of the whole file: inside the magic, the header, the payload and the
    // checksum trailer.
    for (int length = 0; length < whole.length; length++) {
      Files.write(cut, Arrays.copyOf(whole, length));
      assertThatThrownBy(() -> CheckpointFiles.verify(cut, NAME, null))
          .as("cut at %d of %d", length, whole.length)
          .isInstanceOf(CorruptCheckpointException.class)
          .hasMessageStartingWith(NAME + ": truncated: " + length + " bytes, expected ");
    }
  }

  @Test
  void truncationMessagesSayHowLongTheFileShouldBe() throws IOException {
    Path file = writeSmallState();
    long size = Files.size(file);

    truncate(file, size - 2); // inside the trailer
    assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith(NAME + ": truncated: " + (size - 2) + " bytes, expected " + size);

    truncate(file, 10); // inside the header
    assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, null))
        .hasMessage(NAME + ": truncated: 10 bytes, expected at least 20");
  }

  @Test
  void everySingleFlippedByteIsDetected() throws IOException {
    byte[] whole = Files.readAllBytes(writeSmallState());
    Path file = dir.resolve("flipped.state");
    long payloadEnd = whole.length - 4;
    for (int position = 0; position < whole.length; position++) {
      for (int mask : new int[] {0x01, 0x80, 0xff}) {
        Files.write(file, whole);
        flipByte(file, position, mask);
        String[] expected =
            position < 4
                ? new String[] {"bad magic"}
                : position < 8
                    ? new String[] {"unsupported format version"}
                    : position < 16
                        ? new String[] {"truncated", "wrong length", "bad payload length"}
                        : new String[] {"checksum mismatch"};
        assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, null))
            .as("byte %d ^ 0x%02x (payload ends at %d)", position, mask, payloadEnd)
            .isInstanceOf(CorruptCheckpointException.class)
            .hasMessageStartingWith(NAME + ": ")
            .satisfies(e -> assertThat(e.getMessage()).containsAnyOf(expected));
      }
    }
  }

  @Test
  void checksumMismatchNamesStoredAndComputedValues() throws IOException {
    Path file = writeSmallState();
    flipByte(file, 30, 0x10);

    assertThatThrownBy(() -> CheckpointFiles.verify(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageMatching(
            java.util.regex.Pattern.quote(NAME)
                + ": checksum mismatch \\(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\\)");
  }

  @Test
  void wrongMagicIsDetected() throws IOException {
    Path file = writeSmallState();
    byte[] bytes = Files.readAllBytes(file);
    bytes[3] = 'X';
    Files.write(file, bytes);

    assertThatThrownBy(() -> CheckpointFiles.verify(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessage(NAME + ": bad magic 0x534c4358, expected 0x534c434b (\"SLCK\")");
  }

  @Test
  void bytesAfterTheChecksumAreDetected() throws IOException {
    Path file = writeSmallState();
    long size = Files.size(file);
    Files.write(file, new byte[] {0}, java.nio.file.StandardOpenOption.APPEND);

    assertThatThrownBy(() -> CheckpointFiles.verify(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith(NAME + ": wrong length: " + (size + 1) + " bytes, expected " + size);
  }

  @Test
  void anIntactFileThatIsNotTheExpectedOneIsRefused() throws IOException {
    Path file = writeSmallState();
    Frame frame = CheckpointFiles.verify(file, NAME, null);

    assertThatThrownBy(() -> CheckpointFiles.verify(file, NAME, new Frame(frame.sizeBytes(), frame.checksum() + 1)))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageContaining("does not match its state handle");
    assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, new Frame(frame.sizeBytes() + 1, frame.checksum())))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageContaining("does not match its state handle");
  }

  @Test
  void anUnparsablePayloadWithAValidChecksumIsAParseError() throws IOException {
    Path file = dir.resolve("garbage.state");
    // A varint that never ends: not a length prefix.
    byte[] garbage = new byte[12];
    Arrays.fill(garbage, (byte) 0xff);
    CheckpointFiles.write(file, out -> out.write(garbage));

    assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessageStartingWith(NAME + ": cannot parse the payload");
  }

  @Test
  void aStateFileWithoutOperatorStateIsRefused() throws IOException {
    Path file = dir.resolve("short.state");
    CheckpointFiles.write(file, header::writeDelimitedTo);

    assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessage(NAME + ": no operator state after 0 key groups");
  }

  @Test
  void keyGroupsOutOfOrderInAFileAreRefused() throws IOException {
    Path file = dir.resolve("unordered.state");
    CheckpointFiles.write(
        file,
        out -> {
          header.writeDelimitedTo(out);
          keyGroup(70, 1).writeDelimitedTo(out);
          keyGroup(66, 1).writeDelimitedTo(out);
          operatorState.writeDelimitedTo(out);
        });

    assertThatThrownBy(() -> CheckpointFiles.readState(file, NAME, null))
        .isInstanceOf(CorruptCheckpointException.class)
        .hasMessage(NAME + ": key group 66 after key group 70 (must ascend)");
  }

  @Test
  void keyGroupsOutOfOrderOrRangeAreRefusedBeforeAnythingIsWritten() {
    Path file = dir.resolve("window-1.state");

    assertThatThrownBy(
            () -> CheckpointFiles.writeState(file, header, List.of(keyGroup(65, 1), keyGroup(64, 1)), operatorState))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key group 64 after key group 65");
    assertThatThrownBy(() -> CheckpointFiles.writeState(file, header, List.of(keyGroup(3, 1)), operatorState))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("key group 3 outside the header's range [64, 128)");
    assertThat(CheckpointTestData.filesUnder(dir)).isEmpty();
  }

  @Test
  void aFailedWriteLeavesTheTargetAloneAndNoTemporaryFile() throws IOException {
    Path file = writeSmallState();
    byte[] before = Files.readAllBytes(file);

    assertThatThrownBy(
            () ->
                CheckpointFiles.write(
                    file,
                    out -> {
                      out.write(new byte[1000]);
                      throw new IOException("disk full");
                    }))
        .hasMessage("disk full");

    assertThat(Files.readAllBytes(file)).isEqualTo(before);
    assertThat(CheckpointTestData.filesUnder(dir)).containsExactly("window-1.state");
  }

  @Test
  void aPayloadWriterThatClosesItsStreamStillProducesAValidFile() throws IOException {
    Path file = dir.resolve("_metadata");
    CheckpointMetadata metadata = CheckpointTestData.metadata(3, false, List.of());

    CheckpointFiles.write(
        file,
        out -> {
          metadata.writeTo(out);
          out.close();
        });

    assertThat(CheckpointFiles.readMetadata(file, "chk-3/_metadata")).isEqualTo(metadata);
  }

  @Test
  void aLargeStateStreamsAndReadsBack() throws IOException {
    int keyGroups = 128;
    int perGroup = 200_000 / keyGroups + 1;
    List<KeyGroupState> large = new ArrayList<>(keyGroups);
    for (int kg = 0; kg < keyGroups; kg++) {
      KeyGroupState.Builder b = KeyGroupState.newBuilder().setKeyGroup(kg);
      for (int i = 0; i < perGroup; i++) {
        ByteBuffer key = ByteBuffer.allocate(8).putInt(kg).putInt(i);
        b.addEntries(
            KeyedEntry.newBuilder()
                .setKey(ByteString.copyFrom(key.array()))
                .setValue(ByteString.copyFrom(ByteBuffer.allocate(16).putLong(i).putLong(-i).array())));
      }
      large.add(b.build());
    }
    StateFileHeader all = header("count-0", 9, 0, keyGroups);
    Path file = dir.resolve("count-0.state");

    Frame frame = CheckpointFiles.writeState(file, all, large, operatorState("b"));
    InstanceStateFile read = CheckpointFiles.readState(file, "chk-9/count-0.state", frame);

    assertThat(read.keyGroups()).hasSize(keyGroups);
    assertThat(read.keyGroups().stream().mapToInt(KeyGroupState::getEntriesCount).sum())
        .isEqualTo(keyGroups * perGroup)
        .isGreaterThanOrEqualTo(200_000);
    assertThat(read.keyGroups()).isEqualTo(large);
    assertThat(read.operatorState()).isEqualTo(operatorState("b"));
  }
}
