"""A baseline for bench/service.py: TeslaMate's published polling rules, as a scheduler job.

Not TeslaMate (it is Elixir and needs PostgreSQL, MQTT and Grafana): its rules as
research/loggers.md 1.2 gives them, read from `lib/teslamate/vehicles/vehicle.ex`, run through
the same teslalink client and scheduler against the same world, so that what differs between the
two runs is only when each asks the car what. Streaming is off (the Fleet API has no legacy
stream, and a frozen world none at all), so:

* asleep or offline: `GET /vehicles/{id}` every 30 s (POLLING_ASLEEP_INTERVAL);
* online: `vehicle_data` every 15 s (POLLING_DEFAULT_INTERVAL, multiplier 1 without streaming);
* driving: every 2.5 s (POLLING_DRIVING_INTERVAL without streaming);
* charging: every clamp(round(250 / kW), 5, 20) s (`determince_interval`);
* "try to sleep": after `suspend_after_idle_min` (15) minutes idle it suspends for `suspend_min`
  (21) minutes, reading only `GET /vehicles/{id}` at the asleep interval; asleep or offline ends
  the suspension; still online at its end, one `vehicle_data` and, idle still, suspend again.
  `last_used` is bumped by driving, charging and updates.

Left out (the twin's cars never set them, or they change nothing here): the blockers (user
present, preconditioning, dog mode, sentry, open doors, power > 0), geofences, the 75 % token
refresh, the fuses. A plug-in is seen when a `vehicle_data` shows the port no longer
Disconnected (TeslaMate's charging process starts from `charging_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from teslalink.errors import TeslalinkError, VehicleUnavailable

if TYPE_CHECKING:
    from teslalink.cloud.vehicle import Vehicle

ASLEEP_S = 30.0
DEFAULT_S = 15.0
DRIVING_S = 2.5
SUSPEND_AFTER_IDLE_S = 15 * 60.0
SUSPEND_S = 21 * 60.0
ERROR_S = 30.0  # "else 30 s" of the generic back-off


def charging_interval(power_kw: float | None) -> float:
    if not power_kw:
        return 5.0
    return float(min(20, max(5, round(250 / power_kw))))


@dataclass
class TeslaMateRules:
    """One car polled by TeslaMate's rules; `plugged_seen` lists when each plug-in was first seen."""

    vehicle: Vehicle
    clock: Callable[[], float]
    last_used: float | None = None  # set at the first online read (TeslaMate's :start)
    suspended_until: float | None = None
    plugged: bool | None = None
    plugged_seen: list[float] = field(default_factory=list)
    reads: int = 0

    async def __call__(self) -> float:
        now = self.clock()
        try:
            return await self._step(now)
        except VehicleUnavailable:
            return now + ASLEEP_S
        except TeslalinkError:
            return now + ERROR_S

    async def _step(self, now: float) -> float:
        await self.vehicle.summary()
        if self.vehicle.state != "online":
            self.suspended_until = None
            return now + ASLEEP_S
        if self.suspended_until is not None and now < self.suspended_until:
            return now + ASLEEP_S
        data = await self.vehicle.vehicle_data()
        self.reads += 1
        if self.last_used is None:
            self.last_used = now
        plugged = data.charging_state not in (None, "Disconnected")
        if plugged and self.plugged is False:
            self.plugged_seen.append(now)
        self.plugged = plugged
        if data.shift_state in ("D", "R", "N"):
            self.last_used, self.suspended_until = now, None
            return now + DRIVING_S
        if data.charging_state in ("Charging", "Starting"):
            self.last_used, self.suspended_until = now, None
            return now + charging_interval(data.charger_power_kw)
        if self.suspended_until is not None or now - self.last_used >= SUSPEND_AFTER_IDLE_S:
            self.suspended_until = now + SUSPEND_S  # idle: let it fall asleep
            return now + ASLEEP_S
        return now + DEFAULT_S
