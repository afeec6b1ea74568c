"""The car's state machine: the event loop that advances a `Car` lazily to the world's present.

`vehicle.car.Car` is the public face (options, reads, scenario knobs, API answers); this base
class holds the part that runs by itself. Every read or event first calls `_sync`, which

1. syncs a Wall Connector the car is plugged into: the unit settles the car's AC session up to
   now (see .ac) and records any change of "the car wants current" as a charging edge;
2. runs `_run`: repeatedly takes the earliest pending event (a charging edge, arrival at the end
   of a route, a DC session reaching the limit, an update downloading/starting/finishing, a
   sleep-machine event: wake-up done, idle timeout, hourly check-in), integrates the continuous
   state up to it in closed form (`_integrate`: awake time, cabin temperature, position,
   odometer, battery), and applies it; then integrates to now.

Between events nothing changes discontinuously, so the result does not depend on when or how
often anyone reads the car: dense reads and one read a day later give the same history.

An answer (telemetry, vehicle_data, summary...) is rendered from one instant: `_at_one_instant`
syncs once and holds the car there while the renderer reads it, so the many properties an answer
reads (each of which syncs when called on its own) cost nothing more and cannot drift apart
under a running clock. A car plugged into a Wall Connector takes its instant from the unit's
sync, so the car and the unit agree on it too.

Keepers (sentry, climate, a person, driving, charging, open doors, an update downloading or
installing) are re-evaluated after every event and every command or knob (`_refresh`): one
turning on wakes a sleeping car, the last turning off restarts the idle timer at that instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .power import Power, SleepMachine
from .routes import DriveProfile, Path

if TYPE_CHECKING:
    from ..accounts import Account
    from ..world import World
    from .battery import Battery
    from .charging import ChargePort
    from .climate import Cabin, ClimateSettings, Weather
    from .state import Closures, SoftwareUpdate

__all__ = ["AUX_KW_ASLEEP", "AUX_KW_AWAKE", "AUX_KW_CLIMATE", "AUX_KW_SENTRY", "CarCore", "Trip"]

Point = tuple[float, float]

AUX_KW_ASLEEP = 0.015
AUX_KW_AWAKE = 0.25
AUX_KW_SENTRY = 0.25
AUX_KW_CLIMATE = 1.5
"""What a parked, unplugged car draws from its battery: asleep, awake, with sentry, with climate."""

MILE_M = 1609.344

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Trip:
    """One finished drive (kept for scenarios and the demo)."""

    start: float
    end: float
    distance_mi: float
    energy_kwh: float


@dataclass(slots=True)
class Drive:
    """A drive in progress: the path, its speed profile, and where it started from."""

    path: Path
    profile: DriveProfile
    t0: float
    odometer0_mi: float
    energy0_kwh: float
    wh_per_km: float

    @property
    def end(self) -> float:
        return self.t0 + self.profile.duration_s


class CarCore:
    """State and event loop of a car; see `vehicle.car.Car` for the public API."""

    _world: World
    account: Account
    battery: Battery
    port: ChargePort
    climate: ClimateSettings
    closures: Closures
    software: SoftwareUpdate
    sentry_mode: bool
    remote_start_until: float
    car_version: str
    _key: str
    _weather: Weather
    _cabin: Cabin
    _sleep: SleepMachine
    _t: float
    _connected: bool
    _user_present: bool
    _position: Point
    _heading: float
    _odometer_mi: float
    _drive: Drive | None
    _trips: list[Trip]
    _shift_p: bool
    _charge_keeper: bool
    _kept: bool
    _telemetry_mark: float
    _held: bool = False

    @property
    def state(self) -> str:
        """ "online", "asleep" (also while waking up) or "offline" (no connectivity)."""
        self._sync()
        if not self._connected:
            return "offline"
        return "online" if self._sleep.state is Power.AWAKE else "asleep"

    # --- used by commands ----------------------------------------------------------------------

    def _start_remote_drive(self, t: float) -> None:
        self.remote_start_until = t + 120.0

    def _set_climate(self, t: float, on: bool) -> None:
        self.climate.on = on
        if not on:
            self.climate.defrost = False
            self.climate.preconditioning = False
            self.climate.keeper_mode = "off"
        self._refresh(t)

    # --- the event loop ------------------------------------------------------------------------

    def _sync(self) -> float:
        """Advance everything to the world's present and return it (held: the held instant)."""
        if self._held:
            return self._t
        ac = self.port.ac
        # Plugged in: the unit settles our session to its present (recording charging edges),
        # and its present is ours, so both are at one instant.
        t = self._world.now() if ac is None else ac.unit.physics.t
        self._run(t)
        if self.port.ac is not None and not self.port.ac.connected:
            self.port.reap()
        return self._t

    def _at_one_instant(self, render: Callable[[float], R]) -> R:
        """Sync once and call `render(t)` with the car held at that instant `t`.

        While held, `_sync` returns `t` without reading the clock or integrating, so everything
        the renderer reads (properties, `motion()`, the charge port) belongs to the same instant.
        Only for reads: a command or knob run while held would act at a stale instant.
        """
        t = self._sync()
        held, self._held = self._held, True
        try:
            return render(t)
        finally:
            self._held = held

    def _run(self, t: float) -> None:
        while True:
            event = self._next_event()
            if event is None or event[0] > t:
                break
            when, act = event
            when = max(when, self._t)
            self._integrate(when)
            act(when)
        self._integrate(t)

    def _next_event(self) -> tuple[float, Callable[[float], None]] | None:
        candidates: list[tuple[float, int, Callable[[float], None]]] = []
        if self.port.edges:
            self.port.edges.sort(key=lambda edge: edge[0])
            candidates.append((self.port.edges[0][0], 0, self._on_edge))
        drive = self._drive
        if drive is not None:
            candidates.append((drive.end, 1, self._arrive))
        dc_full = self.port.dc_full_at(self._t) if drive is None else None
        if dc_full is not None:
            candidates.append((dc_full, 2, self.port.dc_complete))
        update = self.software.next_event()
        if update is not None:
            candidates.append((update, 3, self._on_update_event))
        sleep = self._sleep.next_event(self._kept)
        if sleep is not None:
            candidates.append((sleep, 4, self._on_sleep_event))
        if not candidates:
            return None
        when, _, act = min(candidates, key=lambda c: (c[0], c[1]))
        return when, act

    def _integrate(self, t1: float) -> None:
        t0 = self._t
        dt = t1 - t0
        if dt <= 0:
            return
        self._sleep.accrue(dt)
        self._cabin.integrate(t0, t1, self.climate, self._weather)
        drive = self._drive
        if drive is not None:
            s, _, _ = drive.profile.state(t1 - drive.t0)
            self._position, self._heading = drive.path.pose_at(s)
            self._odometer_mi = drive.odometer0_mi + s / MILE_M
            self.battery.energy_kwh = max(0.0, drive.energy0_kwh - drive.wh_per_km * s / 1e6)
        elif self.port.dc is not None:
            self.port.integrate_dc(dt)
        elif self.port.ac is None:
            self.battery.add(-self._aux_kw() * dt / 3600.0)
        self._t = t1

    def _aux_kw(self) -> float:
        if self._sleep.state is Power.ASLEEP:
            return AUX_KW_ASLEEP
        kw = AUX_KW_AWAKE
        if self.sentry_mode:
            kw += AUX_KW_SENTRY
        if self.climate.on:
            kw += AUX_KW_CLIMATE
        return kw

    def _keepers(self) -> bool:
        """Is anything keeping the car awake right now?"""
        return bool(
            self.sentry_mode
            or self.climate.on
            or self._user_present
            or self._drive is not None
            or self._charge_keeper
            or self.closures.any_open
            or self.software.keeps_awake
        )

    def _refresh(self, t: float, reason: str = "activity") -> None:
        """Re-evaluate the keepers at `t`: one turning on wakes a sleeping car, the last off restarts
        the idle timer."""
        kept = self._keepers()
        if kept and self._sleep.state is Power.ASLEEP:
            self._sleep.wake_now(t, reason)
        if self._kept and not kept:
            self._sleep.keeper_ended(t)
        self._kept = kept

    def _on_edge(self, t: float) -> None:
        _, wants = self.port.edges.pop(0)
        self._charge_keeper = wants
        self._telemetry_mark = t
        self._refresh(t, "charging")

    def _arrive(self, t: float) -> None:
        drive = self._drive
        assert drive is not None
        self._drive = None
        s, _, _ = drive.profile.state(t - drive.t0)
        used = drive.energy0_kwh - self.battery.energy_kwh
        self._trips.append(Trip(drive.t0, t, s / MILE_M, used))
        self._shift_p = True
        self._telemetry_mark = t
        self._refresh(t)

    def _on_update_event(self, t: float) -> None:
        sw = self.software
        if sw.status == "downloading":
            sw.status = "available"
        elif sw.status == "scheduled":
            if self._drive is not None:  # installs only in park: wait for the arrival
                sw.scheduled_at = self._drive.end
                return
            sw.status, sw.install_started, sw.scheduled_at = "installing", t, None
        elif sw.status == "installing":
            self.car_version = _installed_version(sw.version)
            sw.status, sw.version, sw.install_started = "", "", None
        self._refresh(t, "software_update")

    def _on_sleep_event(self, t: float) -> None:
        self._sleep.fire(t)
        if self._sleep.state is Power.ASLEEP:
            self._shift_p = False
            self._telemetry_mark = t

    def _draw(self, purpose: str, n: int) -> float:
        """A uniform in (0, 1) fixed by (seed, car, purpose, n)."""
        digest = hashlib.blake2b(f"{self._key}:{purpose}:{n}".encode(), digest_size=8).digest()
        return (int.from_bytes(digest, "big") + 0.5) / 2**64


def _installed_version(version: str) -> str:
    """car_version after an install: the offered version with a build hash if it had none."""
    if " " in version:
        return version
    digest = hashlib.blake2b(version.encode(), digest_size=6).hexdigest()
    return f"{version} {digest}"
