/** The {@code count} stage: a keyed running count. */
package io.sluice.stages.count;
