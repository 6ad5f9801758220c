/** The {@code filter} stage: keeps the JSON events whose fields match all of its conditions. */
package io.sluice.stages.filter;
