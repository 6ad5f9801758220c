/**
 * Operator state at checkpoints: collecting a snapshot by key group at a barrier, and handing the
 * right part of the stored state back on restore.
 */
package io.sluice.runtime.internal.state;
