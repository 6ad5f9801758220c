/**
 * The control plane: {@code ControlService.Attach}, one stream per stage instance. Registers
 * instances, takes their reports, and pushes routes and commands to them.
 */
package io.sluice.coordinator.control;
