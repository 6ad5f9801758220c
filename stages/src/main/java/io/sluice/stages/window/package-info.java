/**
 * The {@code window} stage: keyed event-time windows (tumbling, sliding, session) with allowed
 * lateness, a late side output and early firing, with Flink's semantics.
 *
 * <p>{@link io.sluice.stages.window.WindowStageFactory} reads the spec; {@link
 * io.sluice.stages.window.WindowOperator} does the work and can be used from a user's own Java
 * stage with a {@link io.sluice.stages.window.WindowAssigner} ({@link
 * io.sluice.stages.window.TumblingWindows}, {@link io.sluice.stages.window.SlidingWindows}, {@link
 * io.sluice.stages.window.SessionWindows}), an aggregate ({@link
 * io.sluice.stages.window.Aggregates} or any {@link io.sluice.runtime.api.AggregateFunction}) and
 * an {@link io.sluice.stages.window.EarlyFiring} policy.
 */
package io.sluice.stages.window;
