"""A circuit and its breaker: Wall Connectors sharing one supply that trips when overloaded.

A `Circuit` carries the current of the units wired to it plus a house load (the other things on
the same circuit), per phase, and a thermal-magnetic miniature circuit breaker guards it. The
breaker follows IEC 60898-1's time-current rules:

- no trip at 1.13 x In for an hour, a trip within an hour at 1.45 x In (the thermal release);
- an inverse-time region in between and above (the higher the overload, the sooner it trips);
- an instant trip at the magnetic release (curve B: 3 to 5 x In; curve C: 5 to 10 x In).

Like every device of the twin, nothing ticks. `settle(t)` steps from the circuit's last instant
to `t` from one change of current to the next: between two changes every unit's current is
constant, so the heat of each pole is known in closed form and so is the instant it reaches the
trip point. The changes are the ones the units and cars announce themselves (a ramp's or a
handshake's end; a car full at its limit or starting on schedule, found in closed form as the
car finds its charge limit, see .vehicle.ac); everything else (a plug-in, a new amps request)
happens at the present, through the unit, which settles the circuit first. So a trip is found at
its instant in world time, whoever reads what and however long the world was advanced unread.

A tripped breaker cuts every unit on the circuit (contactor open, no current; the cars see no
power) until a scenario resets it. Each trip is recorded (time, current per phase, seconds of
the overload that tripped it), and the circuit keeps the total seconds spent above its limit
(the charge controller's benchmark reports them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .grid import Wiring

if TYPE_CHECKING:
    from .wall_connector.unit import WallConnectorUnit

__all__ = ["CURVES", "PHASES", "THERMAL_TAU_S", "TRIP_HEAT", "Circuit", "Trip"]

PHASES = ("A", "B", "C")

CURVES = {"B": 5.0, "C": 10.0}
"""Magnetic instant-trip threshold in multiples of In, per curve.

Our choice: the top of each curve's band (B 3-5, C 5-10 x In), the current at which every breaker
of that curve trips at once; below it the thermal release acts (at 4 x In a B breaker trips in
about 16 s here), which is within the band's behaviour.
"""

TRIP_HEAT = 1.40**2
"""The thermal release trips when a pole's heat reaches this, in units of (I / In)^2.

Our choice: a pole's heat relaxes toward (I / In)^2 with one time constant (an I^2 t accumulation
with Newtonian cooling), and it trips at (1.40 x In)^2: a steady 1.13 x In never trips (its heat
settles at 1.28), 1.45 x In does (within an hour: see THERMAL_TAU_S).
"""

THERMAL_TAU_S = 120.0
"""Our choice: the thermal time constant of the release. From cold, 1.45 x In trips after about
5.4 min (well within IEC 60898-1's hour) and 2.55 x In after about 43 s (the standard's 1 to
60 s for In <= 32 A); a pole cools back with the same constant."""

_TINY_S = 1e-6


@dataclass(frozen=True, slots=True)
class Trip:
    """One trip of the breaker."""

    at: float
    """World time of the trip."""
    current_a: dict[str, float]
    """The current per phase that tripped it."""
    overload_s: float
    """How long the circuit had been above its limit without a break when it tripped."""
    release: str
    """"thermal" or "magnetic"."""

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at,
            "current_a": dict(self.current_a),
            "overload_s": self.overload_s,
            "release": self.release,
        }


class Circuit:
    """A supply of `limit_a` per phase behind a `curve` breaker, shared by Wall Connectors."""

    def __init__(self, name: str, limit_a: float, curve: str, t0: float) -> None:
        if not (limit_a > 0 and math.isfinite(limit_a)):
            raise ValueError(f"limit_a must be a positive number, got {limit_a!r}")
        if curve not in CURVES:
            raise ValueError(f"curve must be one of {', '.join(CURVES)}, got {curve!r}")
        self.name = name
        self.limit_a = float(limit_a)
        self.curve = curve
        self._t = t0
        self._units: list[WallConnectorUnit] = []
        self._house_load_a = 0.0
        self._heat = dict.fromkeys(PHASES, 0.0)
        self._tripped = False
        self._trips: list[Trip] = []
        self._overload_s = 0.0
        self._over_since: float | None = None

    def __repr__(self) -> str:
        return (
            f"Circuit(name={self.name!r}, limit_a={self.limit_a!r}, curve={self.curve!r}, "
            f"units={[u.serial for u in self._units]!r}, tripped={self._tripped!r})"
        )

    # --- wiring and knobs (at the present: the caller settles first) --------------------------------

    @property
    def t(self) -> float:
        """World time the circuit was last settled to."""
        return self._t

    @property
    def units(self) -> list[WallConnectorUnit]:
        return list(self._units)

    def attach(self, unit: WallConnectorUnit, t: float) -> None:
        """Wire `unit` to this circuit at world time `t` (a tripped breaker cuts it at once)."""
        self.settle(t)
        unit.wire_to(self)
        self._units.append(unit)
        unit.integrate_to(self._t)
        if self._tripped:
            unit.cut_supply(self._t, True)

    @property
    def house_load_a(self) -> float:
        """Amps of the other loads on this circuit, on every phase."""
        return self._house_load_a

    def set_house_load(self, t: float, amps: float) -> None:
        """Our choice: a balanced house load, the same amps on each phase."""
        if not (amps >= 0 and math.isfinite(amps)):
            raise ValueError(f"house load must be a number >= 0, got {amps!r}")
        self.settle(t)
        self._house_load_a = float(amps)

    @property
    def tripped(self) -> bool:
        return self._tripped

    def reset(self, t: float) -> None:
        """Close the breaker again (RuntimeError if it has not tripped).

        Our choice: a reset is accepted at once, however hot the release still is; the heat left
        cools on (and a persisting overload trips the breaker again, sooner).
        """
        self.settle(t)
        if not self._tripped:
            raise RuntimeError(f"the breaker of circuit {self.name!r} has not tripped")
        self._tripped = False
        for unit in self._units:
            unit.cut_supply(self._t, False)

    # --- what it records -------------------------------------------------------------------------

    @property
    def trips(self) -> list[Trip]:
        return list(self._trips)

    @property
    def overload_s(self) -> float:
        """Total seconds any phase carried more than `limit_a` (as of the last settle)."""
        return self._overload_s

    def heat(self) -> dict[str, float]:
        """Each pole's thermal state in (I / In)^2; the release trips at TRIP_HEAT."""
        return dict(self._heat)

    def phase_currents(self) -> dict[str, float]:
        """The current per phase now (as of the last settle): units plus house load, 0 if tripped."""
        if self._tripped:
            return dict.fromkeys(PHASES, 0.0)
        amps = dict.fromkeys(PHASES, self._house_load_a)
        for unit in self._units:
            physics = unit.integrate_to(self._t)
            current = physics.current_a if physics.contactor_closed else 0.0
            if current > 0.0:
                for phase in _phases_of(unit.wiring):
                    amps[phase] += current
        return amps

    # --- time ------------------------------------------------------------------------------------

    def settle(self, t: float) -> None:
        """Step the circuit and its units to world time `t`, tripping where the heat says."""
        while True:
            if self._tripped:
                if t > self._t:
                    self._cool(t - self._t)
                    self._t = t
                for unit in self._units:
                    unit.integrate_to(t)
                return
            amps = self._segment_amps(t)
            trip_in, release = self._time_to_trip(amps)
            if trip_in is not None and self._t + trip_in <= t:
                end = self._t + trip_in
                for unit in self._units:
                    change = unit.next_change(end)
                    if change is not None:
                        end = min(end, max(change, self._t + _TINY_S))
                if end >= self._t + trip_in:  # nothing changes before the trip
                    self._run(amps, trip_in)
                    self._trip(amps, release)
                    continue
            if self._t >= t:  # also at t itself: a change made at the present may trip at once
                return
            end = t
            for unit in self._units:
                change = unit.next_change(t)
                if change is not None:
                    end = min(end, max(change, self._t + _TINY_S))
            self._run(amps, end - self._t)
            for unit in self._units:
                unit.integrate_to(end)

    # --- internals -------------------------------------------------------------------------------

    def _segment_amps(self, horizon: float) -> dict[str, float]:
        """The per-phase current held until the next change.

        Our choice: while a unit ramps (at most a few seconds) it counts at the larger end of the
        ramp, so the breaker never sees less than flowed.
        """
        amps = dict.fromkeys(PHASES, self._house_load_a)
        for unit in self._units:
            physics = unit.integrate_to(self._t)
            if not physics.contactor_closed:
                continue
            current = max(physics.current_a, min(physics.requested_a, physics.max_current_a))
            for phase in _phases_of(unit.wiring):
                amps[phase] += current
        return amps

    def _time_to_trip(self, amps: dict[str, float]) -> tuple[float | None, str]:
        """Seconds until the breaker trips if `amps` holds, and which release trips it."""
        magnetic = CURVES[self.curve] * self.limit_a
        if max(amps.values()) >= magnetic:
            return 0.0, "magnetic"
        soonest: float | None = None
        for phase, current in amps.items():
            drive = (current / self.limit_a) ** 2
            if drive <= TRIP_HEAT:
                continue  # the heat settles below the trip point (or is already cooling off it)
            heat = self._heat[phase]
            wait = 0.0
            if heat < TRIP_HEAT:
                wait = THERMAL_TAU_S * math.log((drive - heat) / (drive - TRIP_HEAT))
            soonest = wait if soonest is None else min(soonest, wait)
        return soonest, "thermal"

    def _run(self, amps: dict[str, float], dt: float) -> None:
        """Hold `amps` for `dt` seconds: heat each pole, count the time above the limit."""
        if dt <= 0:
            return
        decay = math.exp(-dt / THERMAL_TAU_S)
        for phase, current in amps.items():
            drive = (current / self.limit_a) ** 2
            self._heat[phase] = drive + (self._heat[phase] - drive) * decay
        if max(amps.values()) > self.limit_a:
            if self._over_since is None:
                self._over_since = self._t
            self._overload_s += dt
        else:
            self._over_since = None
        self._t += dt

    def _cool(self, dt: float) -> None:
        decay = math.exp(-dt / THERMAL_TAU_S)
        for phase in PHASES:
            self._heat[phase] *= decay

    def _trip(self, amps: dict[str, float], release: str) -> None:
        over = 0.0 if self._over_since is None else self._t - self._over_since
        self._trips.append(Trip(at=self._t, current_a=dict(amps), overload_s=over, release=release))
        self._tripped = True
        self._over_since = None
        for unit in self._units:
            unit.cut_supply(self._t, True)


def _phases_of(wiring: Wiring) -> tuple[str, ...]:
    """Which phases a unit's current flows on.

    Our choice: three-phase units load A, B and C alike; a split-phase unit loads both legs (A
    and B) with its full current; a single-phase unit loads A.
    """
    if wiring is Wiring.THREE_PHASE:
        return PHASES
    if wiring is Wiring.SPLIT_PHASE:
        return ("A", "B")
    return ("A",)
