"""What the engine remembers between readings: one track per car and per Wall Connector, and the
charging sessions open between them.

These are plain dataclasses of JSON types, so the engine's state file is `persist.dump` of them
and a restart reads them back with `persist.load`. Each open span carries the `key` it was given
at first sight: a session that spans a restart goes on under the same key, so the recorder's
upsert keeps it one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..events import DeviceKind, DeviceRef
from ..records import CarState, ChargeSource, ChargingSession, Drive, WallConnectorSession

__all__ = [
    "CarTrack",
    "DriveTrack",
    "OpenCharge",
    "Parked",
    "PlugState",
    "SiteTrack",
    "Span",
    "UnitTrack",
    "WcSession",
]


@dataclass
class PlugState:
    """Whether a car (or a Wall Connector whose car is not known) is plugged in, as far as anyone saw.

    `plugged` None means not known yet: the first reading sets it without an event (the service
    did not see the plug-in happen). `source` says who saw the plug-in first, so the other side
    confirming it is not a second event.
    """

    plugged: bool | None = None
    since_ms: int | None = None
    source: str | None = None  # "car" or "wallconnector"
    unit: str | None = None  # the Wall Connector (config name) it is plugged into, when one saw it
    car_confirmed: bool = False  # the car's own charge_state said plugged in
    charged: bool = False  # charging was seen since the plug-in
    complete: bool = False  # the car said Complete: nothing left to charge
    grace_fired: bool = False  # plugged_in_not_charging was told for this plug-in

    def open(self, at_ms: int, source: str, unit: str | None = None) -> None:
        self.plugged, self.since_ms, self.source, self.unit = True, at_ms, source, unit
        self.car_confirmed = source == "car"
        self.charged = self.complete = self.grace_fired = False

    def close(self) -> None:
        self.plugged, self.since_ms, self.source, self.unit = False, None, None, None
        self.car_confirmed = self.charged = self.complete = self.grace_fired = False


@dataclass
class Span:
    """The car's open state span."""

    key: str
    state: str  # a CarState value
    start_ms: int


@dataclass
class Parked:
    """The car's figures at its last reading out of gear: a drive that starts next starts here."""

    at_ms: int
    odometer_km: float | None = None
    battery_level: float | None = None
    range_km: float | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class DriveTrack:
    """A drive in progress: where and how it started, the newest figures, the last kept position."""

    key: str
    start_ms: int
    start_odometer_km: float | None = None
    start_battery_level: float | None = None
    start_range_km: float | None = None
    start_latitude: float | None = None
    start_longitude: float | None = None
    last_ms: int | None = None
    odometer_km: float | None = None
    battery_level: float | None = None
    range_km: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    speed_max_kmh: float | None = None
    path_m: float = 0.0  # along the kept positions: the distance when no odometer is read
    kept_ms: int | None = None  # the last position written
    kept_latitude: float | None = None
    kept_longitude: float | None = None
    offline_since_ms: int | None = None  # the car went offline mid-drive (TeslaMate waits 15 min)
    sent_ms: int | None = None  # when the open record was last handed on

    def record(self, vin: str, end_ms: int | None, energy_wh: float | None) -> Drive:
        distance = None
        if self.start_odometer_km is not None and self.odometer_km is not None:
            distance = max(0.0, self.odometer_km - self.start_odometer_km)
        elif self.path_m > 0:
            distance = self.path_m / 1000.0
        return Drive(
            key=self.key,
            vin=vin,
            start_ms=self.start_ms,
            end_ms=end_ms,
            start_odometer_km=self.start_odometer_km,
            end_odometer_km=self.odometer_km if end_ms is not None else None,
            distance_km=distance,
            start_battery_level=self.start_battery_level,
            end_battery_level=self.battery_level if end_ms is not None else None,
            start_range_km=self.start_range_km,
            end_range_km=self.range_km if end_ms is not None else None,
            energy_used_wh=energy_wh,
            speed_max_kmh=self.speed_max_kmh,
            start_latitude=self.start_latitude,
            start_longitude=self.start_longitude,
            end_latitude=self.latitude if end_ms is not None else None,
            end_longitude=self.longitude if end_ms is not None else None,
        )


@dataclass
class OpenCharge:
    """One charging session as the car, the Wall Connector or both saw it (one per plug-in).

    It opens when charging is first seen (by either side) and keeps its key until the cable is
    out on every side that saw it: a pause and a resume within one plug-in stay one session, as
    the car's `charge_energy_added` and the unit's session energy both count per plug-in.
    """

    key: str
    start_ms: int
    vin: str | None = None
    unit: str | None = None  # the Wall Connector's config name
    serial: str | None = None
    car_seen: bool = False
    unit_seen: bool = False
    car_open: bool = False  # the car has not said Disconnected since it saw this session
    unit_open: bool = False  # the unit has not seen the unplug
    active: bool = False  # charging now, by the newest reading
    end_ms: int | None = None  # when charging last stopped (None while it runs)
    stop_reason: str | None = None
    pending_stop_ms: int | None = None  # the unit saw charging end; the car is asked why
    unplugged_ms: int | None = None  # one side saw the unplug; the other's last figures awaited
    energy_added_wh: float | None = None
    energy_grid_wh: float | None = None
    start_battery_level: float | None = None
    end_battery_level: float | None = None
    max_power_w: float | None = None  # the unit's measured power when it saw the session
    car_max_power_w: float | None = None  # the car's charger_power (whole kW) otherwise
    fast_charger: bool | None = None
    emitted_ms: int | None = None  # when the record was last handed on (re-sent at most every minute)

    @property
    def source(self) -> ChargeSource:
        if self.car_seen and self.unit_seen:
            return ChargeSource.BOTH
        return ChargeSource.WALL_CONNECTOR if self.unit_seen else ChargeSource.CAR

    def power(self, watts: float | None) -> None:
        """A power the unit measured (W)."""
        if watts is not None and watts > 0 and (self.max_power_w is None or watts > self.max_power_w):
            self.max_power_w = watts

    def car_power(self, watts: float | None) -> None:
        """A power the car reported (its charger_power is whole kW)."""
        if watts is not None and watts > 0 and (self.car_max_power_w is None or watts > self.car_max_power_w):
            self.car_max_power_w = watts

    @property
    def peak_w(self) -> float | None:
        return self.max_power_w if self.max_power_w is not None else self.car_max_power_w

    def record(self) -> ChargingSession:
        return ChargingSession(
            key=self.key,
            source=self.source,
            start_ms=self.start_ms,
            end_ms=None if self.active or self.pending_stop_ms is not None else self.end_ms,
            vin=self.vin,
            serial=self.serial,
            energy_added_wh=self.energy_added_wh if self.car_seen else None,
            energy_grid_wh=self.energy_grid_wh if self.unit_seen else None,
            start_battery_level=self.start_battery_level,
            end_battery_level=self.end_battery_level,
            max_power_w=self.peak_w,
            fast_charger=self.fast_charger,
            stop_reason=self.stop_reason,
        )


@dataclass
class WcSession:
    """A plug-in at a Wall Connector (vehicle_connected up to down), its energy from SessionMonitor."""

    key: str
    start_ms: int
    last_ms: int
    energy_wh: float | None = None
    charging_s: float = 0.0
    vin: str | None = None

    def record(self, serial: str, end_ms: int | None = None) -> WallConnectorSession:
        return WallConnectorSession(
            key=self.key,
            serial=serial,
            start_ms=self.start_ms,
            end_ms=end_ms,
            energy_wh=self.energy_wh,
            charging_s=self.charging_s,
            vin=self.vin,
        )


@dataclass
class CarTrack:
    vin: str
    name: str = ""
    account: str = ""
    summary: str | None = None  # the last summary word (online, asleep, offline); None: not seen
    summary_since_ms: int | None = None
    span: Span | None = None
    plug: PlugState = field(default_factory=PlugState)
    charge_key: str | None = None
    drive: DriveTrack | None = None
    parked: Parked | None = None
    update_told: str | None = None  # the software version software_update was told for
    updating: bool = False
    charging_state: str | None = None  # the last charge_state.charging_state read
    battery_level: float | None = None
    reading: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> DeviceRef:
        return DeviceRef(DeviceKind.CAR, self.vin, self.name)

    @property
    def state(self) -> CarState | None:
        return None if self.span is None else CarState(self.span.state)


@dataclass
class UnitTrack:
    name: str
    serial: str | None = None  # from the unit's /api/1/version, when the runner says (note_unit)
    car: str | None = None  # the config's VIN or name of the car that charges here
    online: bool | None = None
    failures: int = 0  # failed reads in a row
    failing_since_ms: int | None = None
    offline_told_ms: int | None = None  # wallconnector_offline was told (at this time)
    connected: bool | None = None
    charging: bool | None = None  # contactor closed
    evse_state: int | None = None
    last_ms: int | None = None  # the last good reading
    foreign: bool = False  # the configured car said it is not plugged in: another car is here
    plug: PlugState = field(default_factory=PlugState)  # used when no car is known for the unit
    session: WcSession | None = None
    charge_key: str | None = None
    alerts: list[str] = field(default_factory=list)
    rejected_seen: int | None = None  # LifetimeEnergy.rejected_jumps already told
    sample_ms: int | None = None  # the last WallConnectorSample
    sample_sig: list[Any] | None = None  # (connected, contactor, evse_state) of that sample

    @property
    def id(self) -> str:
        return self.serial or self.name

    @property
    def ref(self) -> DeviceRef:
        return DeviceRef(DeviceKind.WALL_CONNECTOR, self.id, self.name)


@dataclass
class SiteTrack:
    """What /status shows of an energy site, from its two jobs: the live status and the newest
    day's totals side by side, each job's last problem apart (a live read that works does not
    hide a history read that failed). Not saved: the next reads fill it in."""

    live: dict[str, Any] = field(default_factory=dict)
    live_error: str | None = None
    day: dict[str, Any] = field(default_factory=dict)
    history_error: str | None = None
