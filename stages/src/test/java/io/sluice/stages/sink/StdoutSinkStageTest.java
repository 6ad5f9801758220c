package io.sluice.stages.sink;

import static io.sluice.stages.StageConfigs.config;
import static io.sluice.stages.StageConfigs.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.runtime.testkit.OperatorTestDriver;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StdoutSinkStageTest {
  /** Remembers whether anyone closed it: standard output must stay open. */
  static final class Recording extends ByteArrayOutputStream {
    boolean closed;

    @Override
    public void close() {
      closed = true;
    }

    String text() {
      return toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void printsTheSameLinesAsTheFileSinkOnScheduleAndOnCloseWithoutClosingTheStream() {
    Recording out = new Recording();
    OperatorTestDriver<String, byte[], byte[], byte[]> sink =
        OperatorTestDriver.forStage(new StdoutSinkStageFactory(() -> out), config("print", "{flush: '1s'}"));
    sink.pipeRawInput(utf8("k"), utf8("{\"n\": 1}"), 1);
    assertThat(out.text()).isEmpty();

    sink.advanceWallClock(Duration.ofSeconds(1));
    assertThat(out.text()).isEqualTo("{\"id\":\"\",\"key\":\"k\",\"time\":1,\"payload\":{\"n\":1}}\n");

    sink.pipeRawInput(utf8("k"), utf8("oops"), 2);
    sink.close();
    assertThat(out.text()).endsWith("{\"id\":\"\",\"key\":\"k\",\"time\":2,\"payload\":\"oops\"}\n");
    assertThat(out.closed).isFalse();
  }
}
