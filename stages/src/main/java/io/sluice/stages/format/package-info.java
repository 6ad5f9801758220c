/**
 * Event formats shared by the sinks and the command line: {@link io.sluice.stages.format.JsonLines}
 * (one JSON object per event) and {@link io.sluice.stages.format.EventTimes} (epoch milliseconds
 * or ISO-8601).
 */
package io.sluice.stages.format;
