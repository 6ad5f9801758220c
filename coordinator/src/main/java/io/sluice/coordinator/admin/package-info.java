/**
 * {@code AdminService}: what operators and {@code sluice status} see and do — status, topology,
 * scaling, draining.
 */
package io.sluice.coordinator.admin;
