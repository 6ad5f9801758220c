package io.sluice.coordinator.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.v1.Command;
import io.sluice.proto.v1.Drain;
import io.sluice.proto.v1.RouteUpdate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutboundStreamTest {
  /** Records what reaches the wire. */
  private static final class Recorder implements StreamObserver<Command> {
    final List<Command> sent = new ArrayList<>();
    final List<Status> ends = new ArrayList<>();

    @Override
    public void onNext(Command value) {
      sent.add(value);
    }

    @Override
    public void onError(Throwable t) {
      ends.add(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      ends.add(Status.OK);
    }
  }

  private static RouteUpdate version(long v) {
    return RouteUpdate.newBuilder().setVersion(v).build();
  }

  @Test
  void anOlderRouteUpdateThatArrivesLateIsDropped() {
    Recorder wire = new Recorder();
    OutboundStream stream = new OutboundStream("a", "a-0", 1, wire);
    assertThat(stream.sendRoutes(version(5))).isTrue();
    assertThat(stream.sendRoutes(version(3))).isFalse();
    assertThat(stream.sendRoutes(version(5))).isFalse();
    assertThat(stream.sendRoutes(version(6))).isTrue();
    assertThat(wire.sent).extracting(c -> c.getRoutes().getVersion()).containsExactly(5L, 6L);
  }

  @Test
  void nothingIsWrittenAfterClose() {
    Recorder wire = new Recorder();
    OutboundStream stream = new OutboundStream("a", "a-0", 1, wire);
    stream.close(Status.UNAVAILABLE.withDescription("bye"));
    stream.close(Status.OK);
    assertThat(stream.send(Command.newBuilder().setDrain(Drain.getDefaultInstance()).build()))
        .isFalse();
    assertThat(stream.sendRoutes(version(1))).isFalse();
    assertThat(wire.sent).isEmpty();
    assertThat(wire.ends).extracting(Status::getCode).containsExactly(Status.Code.UNAVAILABLE);
  }
}
