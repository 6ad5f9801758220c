/**
 * The sinks that write events as JSON lines ({@link io.sluice.stages.format.JsonLines}): {@code
 * file-sink} and {@code stdout-sink}.
 */
package io.sluice.stages.sink;
