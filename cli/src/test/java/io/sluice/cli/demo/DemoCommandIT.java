package io.sluice.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.cli.CliRunner;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice demo} end to end: six JVMs, 20,000 events, results checked by the command. */
@Tag("integration")
class DemoCommandIT {
  @TempDir Path dir;

  @Test
  void theDemoRunsAndItsResultsMatchTheReference() {
    CliRunner.Result r = CliRunner.run("demo", "--dir", dir.toString());

    assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .contains("sent 20000 events")
        .contains("acked through 20000")
        .contains("top users by purchases:")
        .contains("reference check: OK");
  }
}
