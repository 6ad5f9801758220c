/**
 * The public API of a Sluice stage: what an operator author touches.
 *
 * <p>An {@link io.sluice.runtime.api.Operator} receives immutable {@link io.sluice.runtime.api.Record}s
 * one at a time on a single thread (the subtask's mailbox) and forwards results through its {@link
 * io.sluice.runtime.api.OperatorContext}. A {@link io.sluice.runtime.api.StageFactory}, found with
 * {@link java.util.ServiceLoader}, turns a stage's settings from the pipeline spec into a {@link
 * io.sluice.runtime.api.StageDefinition}: the operator plus the {@link io.sluice.runtime.api.Serde}s
 * of its input and output. Nothing outside this package is promised to users.
 */
package io.sluice.runtime.api;
