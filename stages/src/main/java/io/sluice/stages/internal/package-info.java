/**
 * Helpers the built-in stages share. Not part of any promise to users: stage authors use {@code
 * io.sluice.runtime.api}.
 */
package io.sluice.stages.internal;
