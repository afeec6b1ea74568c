"""The power flows of an energy site: its controller's rules and their lazy, exact integration.

Nothing ticks. `SitePhysics.integrate(t)` carries the state from the last update to `t`. Solar and
load (see .solar) are constant within each 5-minute step of world time, so within a step every
flow is constant until the battery reaches a limit (full, the reserve, empty, the restart level);
the integrator cuts the step there, snaps the state of energy to the limit and decides again. The
integral is therefore exact and does not depend on how often anyone reads: a year of world time is
about a hundred thousand steps, whether it is read once or every second.

Sign conventions are the Owner API's: battery > 0 discharges, grid > 0 imports, and at every
instant ``solar + battery + grid == load``. All powers are AC-side; the battery's own losses (95 %
each way) show only in its state of energy.

The controller, kept simple but plausible:

* self_consumption: solar feeds the home first, surplus charges the battery, the rest is exported;
  the battery covers what solar does not, down to the backup reserve; below the reserve it
  recharges (from the grid too, unless that is disallowed).
* backup: the battery stays full: it charges from solar and the grid (unless disallowed) and never
  discharges while the grid is up.
* autonomous (time-based control): in ON_PEAK and PARTIAL_PEAK periods the battery covers the home
  down to the reserve (and exports at full power when the export rule is battery_ok); outside them
  it holds its charge and takes solar surplus, and in the day's cheapest period it also charges
  from the grid (unless disallowed).
* Storm Watch: with storm mode enabled and a storm forecast (a storm today or tomorrow in the
  weather, or forced by `storm_override`), the site behaves as in backup.
* Export rule: pv_only and battery_ok export solar surplus, never curtails solar instead; only
  battery_ok lets the battery export.
* Off grid: solar and the battery serve the home and the reserve no longer applies; surplus solar
  the battery cannot take is curtailed, demand beyond the battery's continuous power is shed. When
  the battery is empty and solar cannot carry the home, the house goes dark (load 0) until solar
  has recharged the battery to 5 %. A solar-only site shuts down (anti-islanding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from .history import (
    BATTERY_IN_GRID,
    BATTERY_IN_SOLAR,
    BATTERY_OUT,
    BUCKET_S,
    GRID_IN,
    GRID_OUT_BATTERY,
    GRID_OUT_SOLAR,
    HOME_BATTERY,
    HOME_GRID,
    HOME_SOLAR,
    SOLAR,
    BackupEvent,
    EnergyLedger,
)
from .solar import STEP_S, STEPS_PER_HOUR, Environment, local_date
from .tariff import PEAK_PERIODS, default_tariff, period_slots

__all__ = [
    "EFFICIENCY",
    "EXPORT_RULES",
    "GRID_CHARGE_W",
    "OPERATIONS",
    "POWERWALL_CONTINUOUS_W",
    "POWERWALL_USABLE_WH",
    "RESTART_FRACTION",
    "Operation",
    "SitePhysics",
    "SitePower",
    "SiteSettings",
]

Operation = Literal["self_consumption", "backup", "autonomous"]
OPERATIONS: tuple[Operation, ...] = ("self_consumption", "backup", "autonomous")
EXPORT_RULES = ("battery_ok", "pv_only", "never")

POWERWALL_USABLE_WH = 13_500.0
POWERWALL_CONTINUOUS_W = 5_000.0
GRID_CHARGE_W = 3_300.0
"""How fast one Powerwall charges from the grid (solar surplus can add up to the continuous power)."""
EFFICIENCY = 0.95
"""One-way efficiency of the battery (about 90 % round trip)."""
RESTART_FRACTION = 0.05
"""After going dark off grid, the home comes back once solar has recharged the battery this far."""

# What the controller does in one step (from the operation, the tariff and Storm Watch).
_SELF, _FILL, _PEAK, _HOLD, _CHEAP = range(5)
_NO_DAY = -(10**9)


@dataclass(frozen=True, slots=True)
class SitePower:
    """The true flows at one instant, in W (no meter jitter): solar + battery + grid == load."""

    solar_w: float
    load_w: float
    battery_w: float  # > 0 discharging
    grid_w: float  # > 0 importing


@dataclass(slots=True)
class SiteSettings:
    """What the owner set (through the app or the API); the controller reads them every step."""

    backup_reserve_percent: float = 20.0
    operation: Operation = "self_consumption"
    customer_preferred_export_rule: str = "pv_only"
    disallow_charge_from_grid_with_solar_installed: bool = False
    storm_mode_enabled: bool = False
    off_grid_vehicle_charging_reserve_percent: float = 0.0
    optimization_strategy: str = "economics"
    tariff: dict[str, Any] = field(default_factory=default_tariff)


class SitePhysics:
    """State of energy, grid state and the energy records of one site, integrated lazily."""

    def __init__(
        self,
        env: Environment,
        settings: SiteSettings,
        *,
        powerwalls: int,
        capacity_wh: float,
        t0: float,
        initial_energy_wh: float,
    ) -> None:
        self.env = env
        self.settings = settings
        self.capacity_wh = capacity_wh
        self.max_power_w = powerwalls * POWERWALL_CONTINUOUS_W
        self.has_battery = powerwalls > 0
        self.has_solar = env.solar_w > 0
        self._grid_charge_w = powerwalls * GRID_CHARGE_W
        self.t = t0
        self.energy_wh = min(capacity_wh, max(0.0, initial_energy_wh))
        self.grid_up = True
        self.dark = False
        self.storm_override: bool | None = None
        self.ledger = EnergyLedger(env.local_day, t0)
        # The integrator's caches: the inputs of one UTC hour, the controller's plan of one day.
        self._hour = -1
        self._hour_solar: list[float] = []
        self._hour_load: list[float] = []
        self._hour_offset = 0
        self._plan_day = _NO_DAY
        self._plan_storm = False
        self._tou_slots: list[str] = []
        self._tou_cheap = "OFF_PEAK"

    # --- events --------------------------------------------------------------------------------

    def settings_changed(self) -> None:
        """Drop the day's plan: the operation, storm mode or the tariff changed (integrate first)."""
        self._plan_day = _NO_DAY

    def inputs_changed(self) -> None:
        """Drop the cached hour of sun and load: a scenario changed them (integrate to now first)."""
        self._hour = -1

    def set_grid(self, up: bool) -> None:
        """The grid goes down (an outage is recorded as a backup event) or comes back."""
        if up == self.grid_up:
            return
        events = self.ledger.events
        self.grid_up = up
        if up:
            self.dark = False
            if events and events[-1].end is None:
                events[-1].end = self.t
        else:
            events.append(BackupEvent(self.t))

    def storm_forecast(self, day: int) -> bool:
        """Whether Storm Watch sees a storm coming on local day `day`."""
        if self.storm_override is not None:
            return self.storm_override
        weather = self.env.day_weather
        return weather(day).storm or weather(day + 1).storm

    # --- the flows now -------------------------------------------------------------------------

    def flows(self) -> SitePower:
        """The flows at the integrated time, i.e. those of the segment that starts now."""
        k = math.floor(self.t / STEP_S)
        solar_raw, load_raw = self._inputs(k)
        solar, load, battery, _ = self._dispatch(solar_raw, load_raw, self.energy_wh, self._plan(k))
        return SitePower(solar, load, battery, load - solar - battery)

    # --- the integrator ------------------------------------------------------------------------

    def _inputs(self, k: int) -> tuple[float, float]:
        hour = k // STEPS_PER_HOUR
        if hour != self._hour:
            self._hour_solar, self._hour_load = self.env.hour(hour)
            self._hour_offset = self.env.utc_offset(hour * 3600)
            self._hour = hour
        j = k - hour * STEPS_PER_HOUR
        return self._hour_solar[j], self._hour_load[j]

    def _plan(self, k: int) -> int:
        """What the controller does in step `k` (after `_inputs(k)`, which sets the UTC offset)."""
        local = k * STEP_S + self._hour_offset
        day = local // 86_400
        settings = self.settings
        if day != self._plan_day:
            self._plan_day = day
            self._plan_storm = settings.storm_mode_enabled and self.has_battery and self.storm_forecast(day)
            if settings.operation == "autonomous":
                self._tou_slots = period_slots(settings.tariff, local_date(day))
                self._tou_cheap = "SUPER_OFF_PEAK" if "SUPER_OFF_PEAK" in self._tou_slots else "OFF_PEAK"
        if self._plan_storm:
            return _FILL
        operation = settings.operation
        if operation == "self_consumption":
            return _SELF
        if operation == "backup":
            return _FILL
        period = self._tou_slots[(local % 86_400) // 900]
        if period in PEAK_PERIODS:
            return _PEAK
        return _CHEAP if period == self._tou_cheap else _HOLD

    def _dispatch(self, solar: float, load: float, e: float, plan: int) -> tuple[float, float, float, float]:
        """(solar, load, battery, limit) for stored energy `e`: the flows, and the stored energy at
        which this decision stops holding (used only while the battery moves)."""
        cap = self.capacity_wh
        pmax = self.max_power_w
        if not self.grid_up:
            if not self.has_battery:
                return 0.0, 0.0, 0.0, 0.0
            restart = cap * RESTART_FRACTION
            if self.dark and e >= restart:
                self.dark = False
            if not self.dark and e <= 0.0 and solar < load:
                self.dark = True
            if self.dark:
                c = min(solar, pmax) if e < cap else 0.0
                return c, 0.0, -c, restart if e < restart else cap
            net = load - solar
            if net > 0.0:
                d = min(net, pmax)
                return solar, solar + d, d, 0.0
            c = min(-net, pmax) if e < cap else 0.0
            return load + c, load, -c, cap
        settings = self.settings
        battery = 0.0
        limit = cap
        if self.has_battery:
            net = load - solar
            surplus = -net if net < 0.0 else 0.0
            from_grid = 0.0
            if not (settings.disallow_charge_from_grid_with_solar_installed and self.has_solar):
                from_grid = self._grid_charge_w
            reserve = cap * settings.backup_reserve_percent / 100.0
            if plan == _SELF:
                if e < reserve:
                    battery, limit = -min(pmax, surplus + from_grid), reserve
                elif net > 0.0 and e > reserve:
                    battery, limit = min(net, pmax), reserve
                elif surplus > 0.0 and e < cap:
                    battery = -min(surplus, pmax)
            elif plan in (_FILL, _CHEAP):
                if e < cap:
                    battery = -min(pmax, surplus + from_grid)
            elif plan == _PEAK and e > reserve:
                limit = reserve
                if settings.customer_preferred_export_rule == "battery_ok":
                    battery = pmax
                else:
                    battery = min(max(net, 0.0), pmax)
            elif surplus > 0.0 and e < cap:  # holding (or below the reserve at peak): solar only
                battery = -min(surplus, pmax)
        if settings.customer_preferred_export_rule == "never":
            solar = min(solar, max(0.0, load - battery))
        return solar, load, battery, limit

    def integrate(self, t_end: float) -> None:
        """Carry the state to world time `t_end` (never backwards), booking every flow."""
        t = self.t
        if t_end <= t:
            return
        e = self.energy_wh
        cap = self.capacity_wh
        ledger = self.ledger
        while t < t_end:
            k = math.floor(t / STEP_S)
            step_end = (k + 1) * STEP_S
            seg_end = step_end if step_end < t_end else t_end
            solar_raw, load_raw = self._inputs(k)
            plan = self._plan(k)
            bucket = (k * STEP_S) // BUCKET_S
            if bucket != ledger.index:
                ledger.roll(bucket, self._plan_day)
            acc = ledger.acc
            rounds = 0
            while t < seg_end:
                solar, load, battery, limit = self._dispatch(solar_raw, load_raw, e, plan)
                rounds += 1
                if rounds > 12:  # cannot happen with the rules above; never loop forever
                    battery = 0.0
                    if self.settings.customer_preferred_export_rule == "never" or not self.grid_up:
                        solar = min(solar, load)
                span = seg_end - t
                hit = False
                rate = 0.0
                if battery != 0.0:
                    rate = (-battery * EFFICIENCY if battery < 0.0 else -battery / EFFICIENCY) / 3600.0
                    to_limit = (limit - e) / rate
                    if to_limit < span:
                        span = to_limit if to_limit > 0.0 else 0.0
                        hit = True
                h = span / 3600.0
                # Who fed whom: solar feeds the home first, then the battery, then the grid; the
                # battery feeds the home first, then the grid; the grid feeds what is left.
                home_solar = solar if solar < load else load
                spare = solar - home_solar
                if battery < 0.0:
                    charge = -battery
                    from_solar = spare if spare < charge else charge
                    home_grid = load - home_solar
                    acc[BATTERY_IN_SOLAR] += from_solar * h
                    acc[BATTERY_IN_GRID] += (charge - from_solar) * h
                    acc[GRID_OUT_SOLAR] += (spare - from_solar) * h
                    acc[GRID_IN] += (home_grid + charge - from_solar) * h
                elif battery > 0.0:
                    need = load - home_solar
                    home_battery = battery if battery < need else need
                    home_grid = need - home_battery
                    acc[BATTERY_OUT] += battery * h
                    acc[HOME_BATTERY] += home_battery * h
                    acc[GRID_OUT_BATTERY] += (battery - home_battery) * h
                    acc[GRID_OUT_SOLAR] += spare * h
                    acc[GRID_IN] += home_grid * h
                else:
                    home_grid = load - home_solar
                    acc[GRID_OUT_SOLAR] += spare * h
                    acc[GRID_IN] += home_grid * h
                acc[SOLAR] += solar * h
                acc[HOME_SOLAR] += home_solar * h
                acc[HOME_GRID] += home_grid * h
                if hit:
                    e = limit
                    t += span
                else:
                    e += rate * span
                    e = cap if e > cap else (0.0 if e < 0.0 else e)
                    t = seg_end
        self.t = t_end
        self.energy_wh = e
