package io.sluice.stages.enrich;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.api.Serdes;
import io.sluice.runtime.api.StageConfig;
import io.sluice.runtime.api.StageDefinition;
import io.sluice.runtime.api.StageFactory;

/**
 * {@code type: enrich}: calls an external service for each event and puts its answer into the
 * event's JSON payload, without ever blocking the stage's thread.
 *
 * <pre>
 * http: {url: "http://localhost:7100/enrich", timeout: 2s}   # or grpc: {target: "localhost:7101", timeout: 2s}
 * concurrency: 16        # calls in flight per instance, at most
 * ordered: true          # emit in input order (default), or as calls complete (false)
 * batch: 1               # events per call; up to `batch` waiting events are sent together
 * maxAge: 30s            # from when the event reached this stage; then it is dead-lettered
 * retry: {initial: 50ms, max: 2s, multiplier: 2.0, jitter: 0.5}
 * into: enrichment       # the payload field that takes the answer
 * </pre>
 *
 * <p>HTTP ({@link HttpTransport}): {@code POST application/json}; with {@code batch: 1} the body is
 * the payload and the answer a JSON object, otherwise a JSON array of payloads answered by an
 * array of as many objects. gRPC ({@link GrpcTransport}): {@code sluice.v1.FunctionService.Process}.
 * A failed attempt (connection error, timeout, non-2xx status, broken stream, malformed answer) is
 * retried with exponential backoff and jitter ({@link RetryPolicy}) until the event is {@code
 * maxAge} old; then it goes to the dead letters with a reason such as {@code "enrich: gave up after
 * 7 attempts in 30.0 s: HTTP 503 from http://localhost:7100/enrich"}. A payload that is not a JSON
 * object is dead-lettered at once.
 *
 * <p>The output keeps the input's key, id, event time, attributes and trace context; its payload
 * is the input payload with the answer under {@code into} (replacing a field of that name). The
 * stage holds back the watermark to the oldest event it has not emitted yet, so its late results
 * are never behind a watermark it already passed on. Not keyed: any partitioning works.
 *
 * <p>Stateless and thread-safe; each operator it makes is confined to its subtask's thread.
 */
public final class EnrichStageFactory implements StageFactory {
  /** The spec's {@code type:} value. */
  public static final String TYPE = "enrich";

  @Override
  public String type() {
    return TYPE;
  }

  @Override
  public StageDefinition<byte[], byte[], byte[], JsonNode> create(StageConfig config) {
    EnrichSettings settings = EnrichSettings.parse(config);
    return StageDefinition.of(
        Serdes.bytes(), Serdes.bytes(), Serdes.bytes(), Serdes.json(), () -> new EnrichOperator(settings));
  }
}
