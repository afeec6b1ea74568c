"""Drives and their positions: from the first reading in gear to the first one out of it.

A drive's distance is its odometer difference, so it does not depend on how often the car was
read; it starts from the odometer of the car's last reading out of gear (the car cannot move
while parked, and the first reading in gear may come a minute into the drive). Its energy is not
given by the API: it is estimated from the rated range drop (`figures.drive_energy_wh`, our
choice); the start's level and range come from the last parked reading when it is at most
`START_WINDOW_MS` old (else from the first reading in gear), so a night's standby drain is not
counted as driving.

Positions are thinned to a bounded rate (our choice, for the storage target of ~126 KB per
car-day in SQLite): one is kept when at least `POSITION_EVERY_MS` (15 s) passed since the last
kept one and the car moved `POSITION_MIN_M` (100 m) since, or `POSITION_HEARTBEAT_MS` (5 min)
passed; the first and the last of a drive are always kept. That is at most 240 rows per hour
of driving (~17 KB), whether the figures come from a stream (about one a second) or from polls.

A car that goes offline mid-drive keeps its drive open for `OFFLINE_TIMEOUT_MS` (TeslaMate's
15 minutes, research/loggers.md 1.2): back in gear it goes on, parked or later it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..events import EventKind
from ..records import Position
from .context import RESEND_MS, Context
from .figures import distance_m, drive_energy_wh, km, kmh
from .tracks import CarTrack, DriveTrack, Parked

if TYPE_CHECKING:
    from ...cloud.stream_models import StreamUpdate
    from ...cloud.vehicle_data import VehicleData

__all__ = [
    "OFFLINE_TIMEOUT_MS",
    "POSITION_EVERY_MS",
    "POSITION_HEARTBEAT_MS",
    "POSITION_MIN_M",
    "START_WINDOW_MS",
    "Fix",
    "end_drive",
    "keep_position",
    "start_drive",
    "take",
]

POSITION_EVERY_MS: Final = 15_000
POSITION_MIN_M: Final = 100.0
POSITION_HEARTBEAT_MS: Final = 300_000
START_WINDOW_MS: Final = 1_800_000
"""A parked reading at most 30 min old gives a drive its starting level and range (our choice)."""
OFFLINE_TIMEOUT_MS: Final = 900_000
WOKE_WINDOW_MS: Final = 900_000
"""A wake at most 15 min before the first reading in gear is the drive's start (our choice: the
service's check-in wait and a poll are well inside it)."""


@dataclass(frozen=True, slots=True)
class Fix:
    """One reading's drive figures, metric, at a service time."""

    at_ms: int
    latitude: float | None = None
    longitude: float | None = None
    speed_kmh: float | None = None
    heading: float | None = None
    power_kw: float | None = None
    odometer_km: float | None = None
    battery_level: float | None = None
    range_km: float | None = None

    @classmethod
    def of_data(cls, data: VehicleData, at_ms: int) -> Fix:
        return cls(
            at_ms=at_ms,
            latitude=data.latitude,
            longitude=data.longitude,
            speed_kmh=kmh(data.speed_mph),
            heading=data.heading,
            power_kw=data.power_kw,
            odometer_km=km(data.odometer_mi),
            battery_level=None if data.battery_level is None else float(data.battery_level),
            range_km=km(data.battery_range_mi),
        )

    @classmethod
    def of_update(cls, update: StreamUpdate) -> Fix:
        return cls(
            at_ms=update.timestamp_ms,
            latitude=update.latitude,
            longitude=update.longitude,
            speed_kmh=kmh(update.speed_mph),
            heading=update.heading if update.heading is not None else update.est_heading,
            power_kw=update.power_kw,
            odometer_km=km(update.odometer_mi),
            battery_level=update.soc,
            range_km=km(update.range_mi),
        )

    def parked(self) -> Parked:
        return Parked(
            at_ms=self.at_ms,
            odometer_km=self.odometer_km,
            battery_level=self.battery_level,
            range_km=self.range_km,
            latitude=self.latitude,
            longitude=self.longitude,
        )


def keep_position(drive: DriveTrack, fix: Fix, *, always: bool = False) -> float | None:
    """The metres moved since the last kept position if `fix` is to be kept (the thinning rule;
    `always`: a drive's last position), else None. A drive's first position is always kept (0 m)."""
    if fix.latitude is None or fix.longitude is None or fix.at_ms == drive.kept_ms:
        return None
    if drive.kept_ms is None or drive.kept_latitude is None or drive.kept_longitude is None:
        return 0.0
    waited = fix.at_ms - drive.kept_ms
    moved = distance_m(drive.kept_latitude, drive.kept_longitude, fix.latitude, fix.longitude)
    if always:
        return moved
    if waited < POSITION_EVERY_MS:
        return None
    return moved if moved >= POSITION_MIN_M or waited >= POSITION_HEARTBEAT_MS else None


def start_drive(ctx: Context, car: CarTrack, fix: Fix, woke_ms: int | None = None) -> DriveTrack:
    """The first reading in gear: the drive opens (from the last parked figures when they fit).

    `woke_ms`: when the summary first showed the car online again, if it slept before; the
    service waits out a few minutes before reading a car that wakes (an hourly check-in looks
    the same), so a drive from sleep began then, not at its first reading. Without any parked
    reading (the service's first sight of the car is in gear) the start's odometer is not known
    and the drive has no distance (None, never a short one)."""
    parked = car.parked
    recent = parked is not None and fix.at_ms - parked.at_ms <= START_WINDOW_MS
    woke_recently = woke_ms is not None and 0 <= fix.at_ms - woke_ms <= WOKE_WINDOW_MS
    start_ms = woke_ms if woke_recently and woke_ms is not None else fix.at_ms
    drive = DriveTrack(
        key=f"{car.vin}:{start_ms}",
        start_ms=start_ms,
        start_odometer_km=parked.odometer_km if parked is not None else None,
        start_battery_level=parked.battery_level if recent and parked is not None else fix.battery_level,
        start_range_km=parked.range_km if recent and parked is not None else fix.range_km,
        start_latitude=parked.latitude
        if parked is not None and parked.latitude is not None
        else fix.latitude,
        start_longitude=parked.longitude
        if parked is not None and parked.longitude is not None
        else fix.longitude,
    )
    car.drive = drive
    ctx.event(
        EventKind.DRIVE_STARTED,
        fix.at_ms,
        car.ref,
        f"{car.ref.label} started driving",
        {"battery_level": drive.start_battery_level, "odometer_km": _round(drive.start_odometer_km, 1)},
    )
    take(ctx, car, fix, resend=True)
    return drive


def take(ctx: Context, car: CarTrack, fix: Fix, *, resend: bool = False, last: bool = False) -> None:
    """One reading during the drive: the newest figures, a position if the thinning keeps it."""
    drive = car.drive
    if drive is None or (drive.last_ms is not None and fix.at_ms < drive.last_ms):
        return  # a streamed update older than the last poll: the figures would go back in time
    drive.last_ms = fix.at_ms
    drive.offline_since_ms = None
    for name in ("odometer_km", "battery_level", "range_km", "latitude", "longitude"):
        value = getattr(fix, name)
        if value is not None:
            setattr(drive, name, value)
    if fix.speed_kmh is not None and (drive.speed_max_kmh is None or fix.speed_kmh > drive.speed_max_kmh):
        drive.speed_max_kmh = fix.speed_kmh
    moved = keep_position(drive, fix, always=last)
    if moved is not None and fix.latitude is not None and fix.longitude is not None:
        drive.path_m += moved
        drive.kept_ms, drive.kept_latitude, drive.kept_longitude = fix.at_ms, fix.latitude, fix.longitude
        ctx.record(
            Position(
                vin=car.vin,
                at_ms=fix.at_ms,
                latitude=fix.latitude,
                longitude=fix.longitude,
                drive_key=drive.key,
                speed_kmh=fix.speed_kmh,
                power_kw=fix.power_kw,
                heading=fix.heading,
                odometer_km=fix.odometer_km,
                battery_level=fix.battery_level,
            )
        )
    if resend or drive.sent_ms is None or fix.at_ms - drive.sent_ms >= RESEND_MS:
        drive.sent_ms = fix.at_ms
        ctx.record(drive.record(car.vin, None, None))


def end_drive(ctx: Context, car: CarTrack, at_ms: int, fix: Fix | None = None, why: str = "parked") -> None:
    """The drive is over: parked (with the parked reading as `fix`), asleep, or offline too long."""
    drive = car.drive
    if drive is None:
        return
    if fix is not None:
        take(ctx, car, fix, last=True)
        car.parked = fix.parked()
    energy = drive_energy_wh(car.vin, drive.start_range_km, drive.range_km)
    record = drive.record(car.vin, at_ms, energy)
    car.drive = None
    ctx.record(record)
    ctx.event(
        EventKind.DRIVE_ENDED,
        at_ms,
        car.ref,
        f"{car.ref.label} ended a drive of {record.distance_km or 0.0:.1f} km",
        {
            "distance_km": _round(record.distance_km, 2),
            "energy_wh": _round(energy, 0),
            "duration_s": round((at_ms - drive.start_ms) / 1000.0, 1),
            "battery_level": record.end_battery_level,
            "start_battery_level": record.start_battery_level,
            "speed_max_kmh": _round(record.speed_max_kmh, 1),
            "reason": why,
        },
    )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
