/**
 * The Java client of a Sluice pipeline: {@link io.sluice.client.SluiceProducer} streams events into
 * an ingest stage and keeps each one until the ingest acknowledges it, resending after a broken
 * stream. {@code io.sluice.client.internal} is not part of the API.
 */
package io.sluice.client;
