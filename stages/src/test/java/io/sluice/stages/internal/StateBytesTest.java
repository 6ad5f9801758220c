package io.sluice.stages.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class StateBytesTest {
  @Test
  void anEntryIsItsVersionThenItsFieldsAndReadsBack() {
    byte[] bytes = StateBytes.write(2, out -> out.writeLong(42));
    assertThat(bytes).hasSize(9).startsWith(2);
    long value = StateBytes.read(bytes, 2, "test", (in, version) -> version * 1000 + in.readLong());
    assertThat(value).isEqualTo(2042);
  }

  @Test
  void anOlderVersionIsHandedToTheReader() {
    byte[] bytes = StateBytes.write(1, out -> out.writeInt(7));
    int version = StateBytes.read(bytes, 3, "test", (in, v) -> {
      in.readInt();
      return v;
    });
    assertThat(version).isEqualTo(1);
  }

  @Test
  void anUnknownVersionIsRefusedNamingTheState() {
    byte[] bytes = StateBytes.write(9, out -> out.writeLong(1));
    assertThatThrownBy(() -> StateBytes.read(bytes, 1, "window w-0, key 'k'", (in, v) -> in.readLong()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("window w-0, key 'k'")
        .hasMessageContaining("version 9");
  }

  @Test
  void aTruncatedOrOverlongEntryIsRefused() {
    byte[] bytes = StateBytes.write(1, out -> out.writeLong(1));
    assertThatThrownBy(() -> StateBytes.read(Arrays.copyOf(bytes, 5), 1, "s", (in, v) -> in.readLong()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("ends early");
    assertThatThrownBy(() -> StateBytes.read(bytes, 1, "s", (in, v) -> in.readInt()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("4 bytes left over");
    assertThatThrownBy(() -> StateBytes.read(new byte[0], 1, "s", (in, v) -> in.readInt()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("empty");
  }
}
