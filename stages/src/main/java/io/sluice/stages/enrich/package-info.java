/**
 * The {@code enrich} stage: calls an external service (HTTP or a gRPC {@code FunctionService})
 * for each event, without blocking, with a bound on calls in flight, retries with backoff and a
 * deadline, and puts the answer into the event's JSON payload. Also an example enrichment service
 * that speaks the HTTP protocol.
 */
package io.sluice.stages.enrich;
