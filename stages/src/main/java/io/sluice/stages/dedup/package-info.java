/**
 * The {@code dedup} stage (compaction): passes the first event of each distinct value per
 * event-time bucket and drops later duplicates, keeping per bucket a compact set of 128-bit
 * fingerprints.
 */
package io.sluice.stages.dedup;
