/**
 * Sluice's built-in stage types, one {@link io.sluice.runtime.api.StageFactory} each, found with
 * {@link java.util.ServiceLoader}:
 *
 * <ul>
 *   <li>{@code filter} ({@link io.sluice.stages.filter}): keeps JSON events that match conditions;
 *   <li>{@code map} ({@link io.sluice.stages.map}): reshapes JSON payloads, re-keys, re-times;
 *   <li>{@code count} ({@link io.sluice.stages.count}): keyed running count;
 *   <li>{@code file-sink} and {@code stdout-sink} ({@link io.sluice.stages.sink}): JSON lines out;
 *   <li>{@code java} ({@link io.sluice.stages.JavaStageFactory}): a user's own factory by class
 *       name;
 *   <li>{@code passthrough} ({@link io.sluice.stages.PassthroughStageFactory}): the identity.
 * </ul>
 *
 * <p>{@link io.sluice.stages.format} holds the JSON-lines event format that the sinks and the
 * command line share.
 */
package io.sluice.stages;
