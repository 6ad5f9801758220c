/**
 * The pipeline spec: the YAML a pipeline author writes, its validation, and the immutable model
 * ({@link io.sluice.coordinator.spec.PipelineSpec}) the rest of the coordinator works from.
 *
 * <p>{@link io.sluice.coordinator.spec.SpecLoader} checks everything before anything starts and
 * reports every problem at once, each naming the stage and the line.
 */
package io.sluice.coordinator.spec;
