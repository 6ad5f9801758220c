package io.sluice.coordinator.control;

import io.sluice.coordinator.registry.InstanceSnapshot;

/**
 * Whether routes may go out now. While a restore runs no instance may get routes: every instance
 * first loads its state, then all of them get routes of the new epoch at once. The recovery
 * coordinator implements it; {@link #OPEN} (checkpoints off) lets every route through.
 *
 * <p>Thread-safe: called from gRPC callbacks, admin calls and the liveness check. Implementations
 * must not block on anything but their own short lock.
 */
public interface RouteGate {
  /** Never holds routes back. */
  RouteGate OPEN = new RouteGate() {
    @Override
    public boolean ifOpen(Runnable push) {
      push.run();
      return true;
    }

    @Override
    public void admit(InstanceSnapshot instance, long reportedEpoch, Runnable sendRoutes) {
      sendRoutes.run();
    }
  };

  /**
   * Runs {@code push} (which issues and sends routes) unless routes are held, atomically with
   * the gate closing: routes computed before a restore starts reach every instance before its
   * {@code Restore}, and none computed after.
   *
   * @return whether it ran
   */
  boolean ifOpen(Runnable push);

  /**
   * An instance has registered: its {@code Registered} is sent and its stream attached. Runs
   * {@code sendRoutes} when routes are open; otherwise holds them and sends what the instance
   * needs instead (its {@code Restore}).
   *
   * @param reportedEpoch {@code Register.epoch}: the epoch the instance ran at, 0 for a fresh
   *     process
   */
  void admit(InstanceSnapshot instance, long reportedEpoch, Runnable sendRoutes);
}
