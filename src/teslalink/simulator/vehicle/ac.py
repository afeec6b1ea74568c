"""A car charging on a simulated Wall Connector: one schedule, integrated by both sides.

The coupling problem: the car and the unit are read independently, each integrates lazily, and
the car must stop at its charge limit at the right instant even if nobody reads either of them.
The solution here is that only the unit integrates the electrical state, and the car is a
`ChargeLoad` attached to it: before the unit integrates to any time `t` it calls
`AcSession.settle(physics, t)`, which

1. absorbs the energy the unit delivered since the last settle into the battery (times the
   charging efficiency), so the battery is known at the unit's time;
2. asks the unit's physics in closed form (`ChargerPhysics.time_to_deliver`) when the energy still
   missing to the limit will have been delivered, given the current ramp and any handshake;
3. if that instant (or a scheduled-charging start) falls before `t`, integrates the unit to it,
   absorbs, and acts on the physics there (finish: evse 8; start: ask for current), then repeats;
4. integrates the unit to `t` and absorbs the rest.

Reading the car syncs the unit first (the car's sync goes through `unit.physics` and takes the
unit's instant as its own), so whichever side is read first, both are computed from the same
piecewise schedule and agree at every instant: the car's current is the unit's current, its
`charge_energy_added` is the unit's `session_energy_wh` times AC_EFFICIENCY. What the car shows
of the unit then reads
`AcSession.physics` as of that sync, not the unit's properties, which would sync it again (to a
later instant under a running clock). Changes the car makes at the present (amps, stop, start) go
through the unit's public methods, which settle first.

Each change of "the car wants current" is also recorded as an edge `(time, wants)` for the car's
sleep logic (charging keeps a car awake; a scheduled start wakes it), because such changes can
happen inside a settle that runs while only the unit is being read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .battery import Battery

if TYPE_CHECKING:
    from ..wall_connector.charger import ChargerPhysics
    from ..wall_connector.unit import WallConnectorUnit

__all__ = ["AC_EFFICIENCY", "AcSession"]

AC_EFFICIENCY = 0.92
"""Share of the energy from the wall that reaches the pack (charger and cabling losses)."""


class AcSession:
    """The car's side of one plug-in at one Wall Connector."""

    def __init__(
        self,
        unit: WallConnectorUnit,
        battery: Battery,
        *,
        amps: float,
        start_at: float | None,
        edges: list[tuple[float, bool]],
    ) -> None:
        self.unit = unit
        self.physics = unit.physics  # the unit's state as of its last sync (the car's last sync)
        self.battery = battery
        self.amps = amps  # what the car asks for while it wants current
        self.start_at = start_at  # scheduled start still pending (world time), or None
        self.wants = False
        self.finished = False
        self.connected = True
        self.disconnected_at: float | None = None
        self._edges = edges
        self._seen_wh = 0.0
        self.energy_wh = 0.0  # the unit's session energy as last absorbed (charge_energy_added)

    # --- the ChargeLoad protocol (called by the unit) ----------------------------------------------

    def settle(self, physics: ChargerPhysics, t: float) -> None:
        while True:
            self._absorb(physics)
            event = self._next_event(physics, t)
            if event is None:
                break
            when, start = event
            physics.integrate(when)
            self._absorb(physics)
            if start:
                self.start_at = None
                self._set_wants(when, True)
                physics.set_requested_current(when, self.amps)
            else:
                self.finished = True
                if self.battery.limit_kwh - self.battery.energy_kwh < 1e-6:
                    self.battery.energy_kwh = max(self.battery.energy_kwh, self.battery.limit_kwh)
                self._set_wants(when, False)
                physics.finish_charging(when)
        physics.integrate(t)
        self._absorb(physics)

    def next_event_at(self, physics: ChargerPhysics, t: float) -> float | None:
        event = self._next_event(physics, t)
        return None if event is None else event[0]

    def unplugged(self, t: float) -> None:
        self.connected = False
        self.disconnected_at = t
        self.start_at = None
        self._set_wants(t, False)

    # --- what the car does at the present ----------------------------------------------------------

    def plug(self, t: float, wants: bool) -> None:
        """Plug into the unit (already synced to `t`) and attach as its load."""
        self.unit.plug_in(self.amps if wants else 0.0)
        self.unit.attach_load(self)
        self._seen_wh = 0.0
        self.energy_wh = 0.0
        self._set_wants(t, wants)

    def start(self, t: float) -> None:
        """Ask for current now (charge_start, a raised limit, a manual override of the schedule)."""
        self.start_at = None
        self.finished = False
        self._set_wants(t, True)
        self.unit.set_requested_current(self.amps)

    def stop(self, t: float) -> None:
        """Stop asking (charge_stop): the unit waits (evse 9, contactor open)."""
        self._set_wants(t, False)
        self.unit.set_requested_current(0.0)

    def finish(self, t: float) -> None:
        """Full at a lowered limit: the unit shows charging finished (evse 8)."""
        self.finished = True
        self._set_wants(t, False)
        self.unit.finish_charging()

    def set_amps(self, amps: float) -> None:
        self.amps = amps
        if self.wants:
            self.unit.set_requested_current(amps)

    def unplug(self) -> None:
        self.unit.unplug()  # calls back `unplugged`

    # --- internals ----------------------------------------------------------------------------

    def _set_wants(self, t: float, wants: bool) -> None:
        if wants != self.wants:
            self.wants = wants
            self._edges.append((t, wants))

    def _absorb(self, physics: ChargerPhysics) -> None:
        delivered = physics.session_energy_wh
        if delivered < self._seen_wh:  # the unit rebooted: its session counter restarted at 0
            self._seen_wh = 0.0
        self.battery.add((delivered - self._seen_wh) / 1000.0 * AC_EFFICIENCY)
        self._seen_wh = delivered
        self.energy_wh = delivered

    def _next_event(self, physics: ChargerPhysics, t: float) -> tuple[float, bool] | None:
        """The next of the car's own decisions at or before `t`: (time, True=start / False=full)."""
        if not self.connected:
            return None
        if self.wants and not self.finished:
            missing_kwh = self.battery.limit_kwh - self.battery.energy_kwh
            if missing_kwh <= 1e-9:
                return physics.t, False
            when = physics.time_to_deliver(missing_kwh * 1000.0 / AC_EFFICIENCY)
            if when is not None and when <= t:
                return max(when, physics.t), False
            return None
        if self.start_at is not None and self.start_at <= t and not self.wants:
            return max(self.start_at, physics.t), True
        return None
