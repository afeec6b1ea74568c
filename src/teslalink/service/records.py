"""What the service keeps: the records the engine hands the recorder.

Two shapes, and the rule that makes a restart safe:

* **spans** (`StateSpan`, `Drive`, `ChargingSession`, `WallConnectorSession`) carry a `key` the
  engine gives at first sight and never changes. The recorder *upserts* them by key: a span is
  written open (`end_ms` None) when it starts, again as it grows, and again when it ends, and it
  stays one row. A session that spans a restart is continued under the same key (the engine's
  state comes back from its state file or from `open spans` in the recorder), so it is neither
  duplicated nor lost;
* **samples** (`Position`, `ChargeSample`, `WallConnectorSample`, `SiteSample`) are keyed by
  (device id, `at_ms`) and appended; the same key written twice is one row (a replay after a
  crash is harmless).

`CarInfo`, `ApiUsage` and `SiteEnergyDay` are upserted by their natural keys (the VIN; account
+ month + category; site + day). `Event` (service.events) is the last kind of record.

Units are in the field names (`_wh`, `_w`, `_km`, `_kmh`, `_a`, `_v`, `_c`); times are integer
epoch milliseconds of the service's clock; None is "not known", never zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .events import Event

__all__ = [
    "ApiUsage",
    "CarInfo",
    "CarState",
    "ChargeSample",
    "ChargeSource",
    "ChargingSession",
    "Drive",
    "Position",
    "Record",
    "SiteEnergyDay",
    "SiteSample",
    "StateSpan",
    "WallConnectorSample",
    "WallConnectorSession",
]


class CarState(enum.StrEnum):
    """A car's state spans: TeslaMate's summary states (research/loggers.md 1.2), driving and
    charging included, so one table answers "what was the car doing at 14:05"."""

    ONLINE = "online"
    ASLEEP = "asleep"
    OFFLINE = "offline"
    DRIVING = "driving"
    CHARGING = "charging"
    UPDATING = "updating"


class ChargeSource(enum.StrEnum):
    """Who saw a charging session: the car (charge_state), the Wall Connector (its vitals and
    session energy), or both (the same session, joined: grid energy vs energy added = losses)."""

    CAR = "car"
    WALL_CONNECTOR = "wallconnector"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class CarInfo:
    vin: str
    account: str  # the email of the account that lists it
    name: str = ""
    model: str | None = None
    vehicle_id: int | None = None  # the streaming id
    id: int | None = None  # the Owner/Fleet API id


@dataclass(frozen=True, slots=True)
class StateSpan:
    key: str
    vin: str
    state: CarState
    start_ms: int
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Drive:
    key: str
    vin: str
    start_ms: int
    end_ms: int | None = None
    start_odometer_km: float | None = None
    end_odometer_km: float | None = None
    distance_km: float | None = None
    start_battery_level: float | None = None  # percent
    end_battery_level: float | None = None
    start_range_km: float | None = None  # rated range
    end_range_km: float | None = None
    energy_used_wh: float | None = None  # estimated from the battery (not given by the API)
    speed_max_kmh: float | None = None
    start_latitude: float | None = None
    start_longitude: float | None = None
    end_latitude: float | None = None
    end_longitude: float | None = None


@dataclass(frozen=True, slots=True)
class Position:
    vin: str
    at_ms: int
    latitude: float
    longitude: float
    drive_key: str | None = None
    speed_kmh: float | None = None
    power_kw: float | None = None
    heading: float | None = None
    odometer_km: float | None = None
    battery_level: float | None = None


@dataclass(frozen=True, slots=True)
class ChargingSession:
    key: str
    source: ChargeSource
    start_ms: int
    end_ms: int | None = None
    vin: str | None = None  # None when only a Wall Connector saw it and no car is known
    serial: str | None = None  # the Wall Connector's, None for a session away from home
    energy_added_wh: float | None = None  # into the battery (the car's charge_energy_added)
    energy_grid_wh: float | None = None  # from the grid (the Wall Connector's session energy)
    start_battery_level: float | None = None
    end_battery_level: float | None = None
    max_power_w: float | None = None
    fast_charger: bool | None = None
    stop_reason: str | None = None  # e.g. "complete", "unplugged", "stopped", when known

    @property
    def losses_wh(self) -> float | None:
        """Grid energy the battery did not get (charging losses), when both sides saw it."""
        if self.energy_grid_wh is None or self.energy_added_wh is None:
            return None
        return self.energy_grid_wh - self.energy_added_wh


@dataclass(frozen=True, slots=True)
class ChargeSample:
    """The car's charge_state while charging."""

    vin: str
    at_ms: int
    session_key: str | None = None
    charging_state: str | None = None
    battery_level: float | None = None
    charge_limit_soc: float | None = None
    energy_added_wh: float | None = None
    power_w: float | None = None
    current_a: float | None = None
    voltage_v: float | None = None
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class WallConnectorSession:
    """A plug-in at a Wall Connector, as the unit alone saw it (vehicle_connected up to down)."""

    key: str
    serial: str
    start_ms: int
    end_ms: int | None = None
    energy_wh: float | None = None  # delivered during it (trusted: the library's SessionMonitor)
    charging_s: float | None = None  # time the contactor was closed
    vin: str | None = None  # the car the config says charges there, or the one seen charging


@dataclass(frozen=True, slots=True)
class WallConnectorSample:
    serial: str
    at_ms: int
    vehicle_connected: bool | None = None
    contactor_closed: bool | None = None
    evse_state: int | None = None
    power_w: float | None = None
    vehicle_current_a: float | None = None
    grid_v: float | None = None
    grid_hz: float | None = None
    session_energy_wh: float | None = None
    handle_temp_c: float | None = None
    pcba_temp_c: float | None = None
    mcu_temp_c: float | None = None


@dataclass(frozen=True, slots=True)
class SiteSample:
    site_id: str
    at_ms: int
    solar_w: float | None = None
    load_w: float | None = None
    grid_w: float | None = None  # positive: import
    battery_w: float | None = None  # positive: discharge (Tesla's sign)
    battery_level: float | None = None  # percent
    grid_status: str | None = None


@dataclass(frozen=True, slots=True)
class SiteEnergyDay:
    """An energy site's energies over one whole day (Wh), from `calendar_history` kind `energy`.

    `day` is the calendar date ("2026-06-14") in the site's own time zone, as Tesla's app counts
    the site's days. Each figure is the sum of the answer's fields for it (Tesla's names):

    * `solar_wh`: `solar_energy_exported` (what the panels produced);
    * `home_wh`: `consumer_energy_imported_from_grid`, `_from_solar`, `_from_battery`,
      `_from_generator` (the home's load);
    * `grid_import_wh`: `grid_energy_imported`;
    * `grid_export_wh`: `grid_energy_exported_from_solar`, `_from_battery`, `_from_generator`;
    * `battery_charge_wh`: `battery_energy_imported_from_grid`, `_from_solar`, `_from_generator`;
    * `battery_discharge_wh`: `battery_energy_exported`.

    A figure none of whose fields the answer gave is None (not known), never 0.
    """

    site_id: str
    day: str  # YYYY-MM-DD, the site's local date
    solar_wh: float | None = None
    home_wh: float | None = None
    grid_import_wh: float | None = None
    grid_export_wh: float | None = None
    battery_charge_wh: float | None = None
    battery_discharge_wh: float | None = None
    site_name: str = ""  # the site's name in the account, kept as its device's name ("" unknown)


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """An account's billable calls in a month and category (the budget ledger's figures)."""

    account: str
    month: str  # "2026-12", UTC
    category: str  # teslalink.cloud.fleet.ledger.CATEGORIES: data, commands, wakes, signals
    count: int
    cost_usd: float


Record = (
    CarInfo
    | StateSpan
    | Drive
    | Position
    | ChargingSession
    | ChargeSample
    | WallConnectorSession
    | WallConnectorSample
    | SiteSample
    | SiteEnergyDay
    | ApiUsage
    | Event
)
