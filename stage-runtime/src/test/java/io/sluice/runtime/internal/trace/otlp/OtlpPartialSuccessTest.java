package io.sluice.runtime.internal.trace.otlp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The hand decoder of ExportTraceServiceResponse against the generated classes' encoding. */
class OtlpPartialSuccessTest {
  @Test
  void emptyResponseIsAFullSuccess() throws Exception {
    assertThat(OtlpPartialSuccess.parse(new byte[0])).isEqualTo(OtlpPartialSuccess.NONE);
    assertThat(OtlpPartialSuccess.parse(ExportTraceServiceResponse.getDefaultInstance().toByteArray()))
        .isEqualTo(OtlpPartialSuccess.NONE);
  }

  @Test
  void readsRejectedSpansAndMessage() throws Exception {
    byte[] response = ExportTraceServiceResponse.newBuilder()
        .setPartialSuccess(ExportTracePartialSuccess.newBuilder().setRejectedSpans(1234567890123L)
            .setErrorMessage("spans too old ✗"))
        .build()
        .toByteArray();
    assertThat(OtlpPartialSuccess.parse(response))
        .isEqualTo(new OtlpPartialSuccess(1234567890123L, "spans too old ✗"));
  }

  @Test
  void skipsUnknownFieldsAtBothLevels() throws Exception {
    UnknownFieldSet unknown = UnknownFieldSet.newBuilder()
        .addField(7, UnknownFieldSet.Field.newBuilder().addVarint(99).addLengthDelimited(
            com.google.protobuf.ByteString.copyFromUtf8("later")).build())
        .build();
    byte[] response = ExportTraceServiceResponse.newBuilder()
        .setPartialSuccess(ExportTracePartialSuccess.newBuilder().setRejectedSpans(3).setUnknownFields(unknown))
        .setUnknownFields(unknown)
        .build()
        .toByteArray();
    assertThat(OtlpPartialSuccess.parse(response)).isEqualTo(new OtlpPartialSuccess(3, ""));
  }

  @Test
  void malformedBytesAreRefused() {
    // Field 1, length-delimited, says 5 bytes follow but only 1 does.
    assertThatThrownBy(() -> OtlpPartialSuccess.parse(new byte[] {0x0a, 0x05, 0x08}))
        .isInstanceOf(InvalidProtocolBufferException.class);
  }

  @Test
  void logsOnlyWhenThereIsSomethingToSay() {
    try (CapturedLogs logs = new CapturedLogs()) {
      Logger log = Logger.getLogger(OtlpPartialSuccessTest.class.getPackageName() + ".test");
      OtlpPartialSuccess.NONE.logIfAny(log, "OTLP/gRPC endpoint http://h:4317");
      assertThat(logs.warnings()).isEmpty();
      new OtlpPartialSuccess(3, "too old").logIfAny(log, "OTLP/gRPC endpoint http://h:4317");
      new OtlpPartialSuccess(0, "deprecated field").logIfAny(log, "OTLP/gRPC endpoint http://h:4317");
      assertThat(logs.warnings()).containsExactly(
          "The OTLP/gRPC endpoint http://h:4317 accepted the export but rejected 3 spans: too old",
          "The OTLP/gRPC endpoint http://h:4317 accepted every span, with a warning: deprecated field");
    }
  }
}
