"""The charge port: AC on a Wall Connector, DC at a Supercharger, limits, amps and schedules.

State and rules only; the numbers the API shows are read from here by `render`. AC energy comes
from the unit (see .ac); DC energy follows the taper curve (see .taper) and is integrated by the
car's own event loop, which asks `dc_full_at` for the instant the session reaches the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..grid import Wiring
from .ac import AC_EFFICIENCY, AcSession
from .battery import CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, Battery
from .spec import ModelSpec
from .taper import TaperCurve

if TYPE_CHECKING:
    from ..wall_connector.unit import WallConnectorUnit

__all__ = ["ChargePort", "ChargeRecord", "DcSession"]

THREE_PHASE_MAX_A = 16
"""Onboard chargers take at most 16 A per phase on a three-phase supply (11 kW)."""

SCHEDULE_GRACE_S = 6 * 3600.0
"""Plugged in less than this after the scheduled start time: charging starts at once."""


@dataclass(slots=True)
class ChargeRecord:
    """One finished charging session, for charge_history."""

    kind: Literal["home", "supercharger"]
    start: float
    end: float
    energy_kwh: float


@dataclass(slots=True)
class DcSession:
    curve: TaperCurve
    max_kw: float
    started: float
    charging: bool = True
    complete: bool = False
    energy_added_kwh: float = 0.0


@dataclass(slots=True)
class Departure:
    """set_scheduled_departure settings (stored and shown; no preconditioning is simulated)."""

    enabled: bool = False
    departure_minutes: int = 480
    preconditioning_enabled: bool = False
    preconditioning_weekdays_only: bool = False
    off_peak_charging_enabled: bool = False
    off_peak_charging_weekdays_only: bool = False
    end_off_peak_minutes: int = 360


class ChargePort:
    """Everything behind charge_state."""

    def __init__(
        self, battery: Battery, spec: ModelSpec, *, onboard_a: int, eu: bool, local_offset_s: float
    ) -> None:
        self.battery = battery
        self.spec = spec
        self.onboard_a = onboard_a
        self.eu = eu
        self.local_offset_s = local_offset_s
        self.door_open = False
        self.current_request = onboard_a if not eu else THREE_PHASE_MAX_A
        self.ac: AcSession | None = None
        self.dc: DcSession | None = None
        self.edges: list[tuple[float, bool]] = []
        self.scheduled_enabled = False
        self.scheduled_minutes = 0
        self.departure = Departure()
        self.user_enable_request: bool | None = None
        self.max_range_charge_counter = 0
        self.last_energy_added_kwh = 0.0  # charge_energy_added keeps the last session's value
        self._last_battery_added_kwh = 0.0
        self.history: list[ChargeRecord] = []
        self._session_start: float | None = None

    # --- derived state -----------------------------------------------------------------------

    @property
    def plugged(self) -> bool:
        return self.ac is not None or self.dc is not None

    @property
    def three_phase(self) -> bool:
        if self.ac is not None:
            return self.ac.unit.wiring is Wiring.THREE_PHASE
        return self.eu and self.dc is None

    @property
    def request_max_a(self) -> int:
        """charge_current_request_max: what the onboard charger takes on this supply."""
        return THREE_PHASE_MAX_A if self.three_phase else self.onboard_a

    def ask_amps(self, unit: WallConnectorUnit) -> float:
        """What the car asks a unit for: its request, capped by its charger and by the unit."""
        onboard = THREE_PHASE_MAX_A if unit.wiring is Wiring.THREE_PHASE else self.onboard_a
        return float(min(self.current_request, onboard, unit.max_current_a))

    @property
    def keeps_awake(self) -> bool:
        """Charging (or starting to) keeps the car awake."""
        return (self.ac is not None and self.ac.wants) or (self.dc is not None and self.dc.charging)

    @property
    def charging_state(self) -> str:
        ac, dc = self.ac, self.dc
        if dc is not None:
            return "Charging" if dc.charging else ("Complete" if dc.complete else "Stopped")
        if ac is None:
            return "Disconnected"
        if ac.wants:
            if ac.physics.supply_cut:  # a tripped breaker upstream (Tesla's DetailedChargeState value)
                return "NoPower"
            return "Charging" if ac.physics.contactor_closed else "Starting"
        return "Complete" if ac.finished else "Stopped"

    @property
    def is_charging(self) -> bool:
        return self.charging_state in ("Charging", "Starting")

    @property
    def scheduled_pending(self) -> bool:
        return self.ac is not None and self.ac.start_at is not None

    def next_scheduled_start(self, t: float) -> float:
        """The world time of the next scheduled start at or after `t` (or `t` within the grace)."""
        day = math.floor((t + self.local_offset_s) / 86_400.0) * 86_400.0 - self.local_offset_s
        start = day + self.scheduled_minutes * 60.0
        if start > t:
            start_before = start - 86_400.0
            return t if t - start_before < SCHEDULE_GRACE_S else start
        return t if t - start < SCHEDULE_GRACE_S else start + 86_400.0

    def energy_added_kwh(self) -> float:
        """charge_energy_added: what this session put into the pack, on AC and DC alike.

        On AC that is less than the unit's session energy by the charger's losses (AC_EFFICIENCY):
        TeslaMate keeps both, `charge_energy_added` from the car and `charge_energy_used` from the
        charger's power (research/loggers.md 1.3), and their ratio is its charging efficiency.
        Our choice, where no source gives the car's exact count: the pack's gain."""
        if self.ac is not None:
            return self.ac.energy_wh / 1000.0 * AC_EFFICIENCY
        if self.dc is not None:
            return self.dc.energy_added_kwh
        return self.last_energy_added_kwh

    def battery_added_kwh(self) -> float:
        """What this session put into the pack (for the miles added)."""
        if self.ac is not None:
            return self.ac.energy_wh / 1000.0 * AC_EFFICIENCY
        return self.energy_added_kwh() if self.dc is not None else self._last_battery_added_kwh

    def power_kw(self) -> float:
        """Charge power as of the car's sync (wall side on AC, pack side on DC)."""
        if self.dc is not None:
            return self.dc.curve.power_kw(self.battery.soc) if self.dc.charging else 0.0
        if self.ac is not None:
            return self.ac.physics.power_w / 1000.0
        return 0.0

    def pack_power_kw(self) -> float:
        return self.power_kw() * (AC_EFFICIENCY if self.dc is None else 1.0)

    def hours_to_full(self) -> float:
        if not self.is_charging:
            return 0.0
        if self.dc is not None:
            return self.dc.curve.seconds_between(self.battery.soc, self.battery.limit_soc) / 3600.0
        assert self.ac is not None
        missing = max(0.0, self.battery.limit_kwh - self.battery.energy_kwh)
        physics = self.ac.physics  # the steady power, not the ramp: the estimate should not jump
        power = min(self.ac.amps, physics.max_current_a) * physics.volts_per_amp / 1000.0 * AC_EFFICIENCY
        return missing / power if power > 0 else 0.0

    # --- AC ------------------------------------------------------------------------------------

    def plug_into(self, unit: WallConnectorUnit, t: float) -> None:
        if self.plugged:
            raise RuntimeError("the car is already plugged in; unplug() first")
        start_at = self.next_scheduled_start(t) if self.scheduled_enabled else None
        if start_at is not None and start_at <= t:
            start_at = None
        ac = AcSession(unit, self.battery, amps=self.ask_amps(unit), start_at=start_at, edges=self.edges)
        ac.plug(t, wants=start_at is None)
        self.ac = ac
        self.door_open = True
        self._session_start = t

    def reap(self) -> None:
        """Forget an AC session whose cable someone pulled at the unit."""
        ac = self.ac
        if ac is not None and not ac.connected:
            self._close_ac(ac, ac.disconnected_at if ac.disconnected_at is not None else 0.0)

    def _close_ac(self, ac: AcSession, t: float) -> None:
        self.last_energy_added_kwh = ac.energy_wh / 1000.0 * AC_EFFICIENCY
        self._last_battery_added_kwh = ac.energy_wh / 1000.0 * AC_EFFICIENCY
        if ac.energy_wh > 0 and self._session_start is not None:
            self.history.append(ChargeRecord("home", self._session_start, t, ac.energy_wh / 1000.0))
        self.ac = None
        self.door_open = False

    def set_amps(self, amps: int) -> None:
        self.current_request = amps
        if self.ac is not None:
            self.ac.set_amps(self.ask_amps(self.ac.unit))

    # --- DC ------------------------------------------------------------------------------------

    def start_supercharging(self, t: float, max_kw: float) -> None:
        if self.plugged:
            raise RuntimeError("the car is already plugged in; unplug() first")
        curve = TaperCurve(self.spec.dc_peak_kw, max_kw, self.battery.capacity_kwh)
        self.dc = DcSession(curve, max_kw, t)
        self.door_open = True
        self._session_start = t
        if self.battery.at_limit:
            self.dc.charging, self.dc.complete = False, True
        self.edges.append((t, self.dc.charging))

    def dc_full_at(self, t: float) -> float | None:
        """When the DC session reaches the limit, charging from the state at `t`."""
        dc = self.dc
        if dc is None or not dc.charging:
            return None
        return t + dc.curve.seconds_between(self.battery.soc, self.battery.limit_soc)

    def integrate_dc(self, seconds: float) -> None:
        dc = self.dc
        if dc is None or not dc.charging or seconds <= 0:
            return
        before = self.battery.energy_kwh
        target = min(dc.curve.advance(self.battery.soc, seconds), float(self.battery.limit_soc))
        self.battery.soc = max(self.battery.soc, target)
        dc.energy_added_kwh += self.battery.energy_kwh - before

    def dc_complete(self, t: float) -> None:
        """The DC session reached the limit at `t`."""
        dc = self.dc
        if dc is not None and dc.charging:
            self.battery.energy_kwh = max(self.battery.energy_kwh, self.battery.limit_kwh)
            dc.charging, dc.complete = False, True
            self.edges.append((t, False))

    # --- both ----------------------------------------------------------------------------------

    def unplug(self, t: float) -> None:
        if self.ac is not None:
            ac = self.ac
            ac.unplug()
            self._close_ac(ac, t)
        elif self.dc is not None:
            dc = self.dc
            self.last_energy_added_kwh = dc.energy_added_kwh
            self._last_battery_added_kwh = dc.energy_added_kwh
            if dc.energy_added_kwh > 0 and self._session_start is not None:
                self.history.append(ChargeRecord("supercharger", self._session_start, t, dc.energy_added_kwh))
            if dc.charging:
                self.edges.append((t, False))
            self.dc = None
            self.door_open = False

    def start(self, t: float) -> str:
        """charge_start: "" when it starts, else the reason the car gives."""
        if not self.plugged:
            return "disconnected"
        if self.is_charging:
            return "is_charging"
        if self.battery.at_limit:
            return "complete"
        self.user_enable_request = True
        if self.ac is not None:
            self.ac.start(t)
        elif self.dc is not None:
            self.dc.charging, self.dc.complete = True, False
            self.edges.append((t, True))
        return ""

    def stop(self, t: float) -> str:
        """charge_stop: "" when it stops, else not_charging."""
        if not self.is_charging:
            return "not_charging"
        self.user_enable_request = False
        if self.ac is not None:
            self.ac.stop(t)
        elif self.dc is not None:
            self.dc.charging = False
            self.edges.append((t, False))
        return ""

    def set_limit(self, percent: int, t: float) -> None:
        """A new charge limit; charging stops or resumes as the car would."""
        self.battery.limit_soc = min(max(percent, CHARGE_LIMIT_MIN), CHARGE_LIMIT_MAX)
        if percent == CHARGE_LIMIT_MAX:
            self.max_range_charge_counter += 1
        ac, dc = self.ac, self.dc
        if ac is not None:
            if ac.wants and self.battery.at_limit:
                ac.finish(t)
            elif ac.finished and not self.battery.at_limit:
                ac.start(t)
        elif dc is not None:
            if dc.charging and self.battery.at_limit:
                self.dc_complete(t)
            elif dc.complete and not self.battery.at_limit:
                dc.charging, dc.complete = True, False
                self.edges.append((t, True))
