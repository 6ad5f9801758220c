/**
 * Where events go: the routes of every instance (targets per output edge, key-group ranges, the
 * inputs to wait for), computed from the spec and the registry, versioned, and diffed so only
 * changed routes are pushed.
 */
package io.sluice.coordinator.routing;
