"""Storage per car-day in the recorder's database, against TeslaMate's.

    python bench/recorder_storage.py [--days 30] [--dsn postgresql://...] [--json]

Issue 11's target (7b): at most a tenth of TeslaMate's ~1.26 MB per car-day (680 MB after 18
months of one car, teslamate-org/teslamate#2225; research/control.md 7.2), i.e. <= ~126 KB for
the same drives and charges. One synthetic car-day (`car_day`) is what the issue names: a 30-min
drive with a position every 15 s, a 4-h home charge with a car sample every 15 min, ~10 state
spans, ~10 events; plus the house: Wall Connector samples every 60 s all day (the service's idle
rate; the charge's included) and site samples every minute. Values carry real decimals (seeded
noise), not round numbers that would store smaller.

What is printed: the bytes the database grew by per day (SQLite: the file and its WAL after a
checkpoint; PostgreSQL: pg_total_relation_size of every table), split by group (the car's tables,
the Wall Connector's, the site's) from dbstat / pg_total_relation_size, measured over `--days`
days so the fixed cost of an empty database (its schema pages) is not charged to one day; and the
same after downsampling every day (one sample per 5 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.recorder import Recorder, open_recorder
from teslalink.service.records import (
    ApiUsage,
    CarInfo,
    CarState,
    ChargeSample,
    ChargeSource,
    ChargingSession,
    Drive,
    Position,
    Record,
    SiteSample,
    StateSpan,
    WallConnectorSample,
    WallConnectorSession,
)
from teslalink.service.settings import StorageSettings

TESLAMATE_BYTES_PER_CAR_DAY = 1.26e6
TARGET_BYTES_PER_CAR_DAY = TESLAMATE_BYTES_PER_CAR_DAY / 10

VIN = "5YJ3E1EA7KF317000"
SERIAL = "PGT21234567890"
SITE = "2252180001234567"
EMAIL = "owner@teslalink.test"
DAY_MS = 86_400_000
START_MS = 1_796_000_000_000 - 1_796_000_000_000 % DAY_MS  # a UTC midnight in Dec 2026

GROUPS = {
    "car": (
        "cars",
        "state_spans",
        "drives",
        "positions",
        "charging_sessions",
        "charge_samples",
        "events",
        "api_usage",
        "devices",
        "span_keys",
    ),
    "wallconnector": ("wallconnector_sessions", "wallconnector_samples"),
    "site": ("site_samples",),
}


def car_day(day: int, rng: random.Random) -> list[Record]:
    """One day of one car, its Wall Connector and its site, in the order the engine emits them."""
    base = START_MS + day * DAY_MS
    car = DeviceRef(DeviceKind.CAR, VIN, "Sleeper")
    unit = DeviceRef(DeviceKind.WALL_CONNECTOR, SERIAL, "Garage")
    records: list[Record] = [
        CarInfo(VIN, EMAIL, name="Sleeper", model="Model 3", vehicle_id=1_493_000_123, id=37)
    ]

    # the states: asleep, online, driving (08:00-08:30), online, asleep, online, charging (19:00-23:00), ...
    hours = [
        (0, 7.8, CarState.ASLEEP),
        (7.8, 8, CarState.ONLINE),
        (8, 8.5, CarState.DRIVING),
        (8.5, 8.8, CarState.ONLINE),
        (8.8, 12, CarState.ASLEEP),
        (12, 12.2, CarState.ONLINE),
        (12.2, 18.9, CarState.ASLEEP),
        (18.9, 19, CarState.ONLINE),
        (19, 23, CarState.CHARGING),
        (23, 24, CarState.ASLEEP),
    ]
    for n, (start_h, end_h, state) in enumerate(hours):
        span = StateSpan(f"state-{day}-{n}", VIN, state, base + int(start_h * 3_600_000))
        records += [span, replace(span, end_ms=base + int(end_h * 3_600_000))]

    # the drive: 30 min, a position every 15 s
    drive_start = base + 8 * 3_600_000
    odometer = 12_000.0 + day * 25.3
    lat, lon = 37.4219983, -122.0840575
    drive = Drive(
        f"drive-{day}",
        VIN,
        drive_start,
        start_odometer_km=odometer,
        start_battery_level=80.0,
        start_range_km=402.3,
        start_latitude=lat,
        start_longitude=lon,
    )
    records.append(drive)
    records.append(Event(EventKind.DRIVE_STARTED, drive_start, car, "Sleeper is driving"))
    heading = 90.0
    for i in range(120):
        speed = max(0.0, 55 + rng.gauss(0, 18))
        heading = (heading + rng.gauss(0, 12)) % 360
        lat += rng.gauss(0, 0.0004)
        lon += rng.gauss(0, 0.0004)
        odometer += speed * 15 / 3600
        records.append(
            Position(
                VIN,
                drive_start + i * 15_000,
                round(lat, 7),
                round(lon, 7),
                drive_key=drive.key,
                speed_kmh=round(speed, 1),
                power_kw=round(rng.uniform(-20, 60), 2),
                heading=round(heading),
                odometer_km=round(odometer, 3),
                battery_level=round(80 - i * 5 / 120, 1),
            )
        )
    ended = replace(
        drive,
        end_ms=drive_start + 1_800_000,
        end_odometer_km=round(odometer, 3),
        distance_km=round(odometer - drive.start_odometer_km, 3),
        end_battery_level=75.0,
        end_range_km=377.1,
        energy_used_wh=4_100.0 + rng.uniform(-300, 300),
        speed_max_kmh=98.0,
        end_latitude=round(lat, 7),
        end_longitude=round(lon, 7),
    )
    records += [
        ended,
        Event(
            EventKind.DRIVE_ENDED,
            ended.end_ms or 0,
            car,
            "Sleeper drove 25 km",
            {"distance_km": ended.distance_km, "energy_wh": ended.energy_used_wh},
        ),
    ]
    records.append(Event(EventKind.CAR_ASLEEP, base + int(8.8 * 3_600_000), car, "Sleeper is asleep"))
    records.append(Event(EventKind.CAR_ONLINE, base + 12 * 3_600_000, car, "Sleeper is online"))

    # the charge: 19:00-23:00 at ~11 kW; the car read every 15 min, the unit every 60 s all day
    charge_start = base + 19 * 3_600_000
    session = ChargingSession(
        f"charge-{day}", ChargeSource.BOTH, charge_start, vin=VIN, serial=SERIAL, start_battery_level=45.0
    )
    unit_session = WallConnectorSession(f"wc-{day}", SERIAL, charge_start - 60_000, vin=VIN)
    records += [
        session,
        unit_session,
        Event(EventKind.PLUGGED_IN, charge_start - 60_000, unit, "Sleeper plugged in at Garage"),
        Event(EventKind.CHARGING_STARTED, charge_start, car, "Sleeper started charging"),
    ]
    energy = 0.0
    for minute in range(24 * 60):
        at = base + minute * 60_000
        charging = charge_start <= at < charge_start + 4 * 3_600_000
        connected = charge_start - 60_000 <= at < charge_start + 4 * 3_600_000 + 300_000
        power = 11_040.0 + rng.gauss(0, 40) if charging else 0.0
        energy += power / 60 if charging else 0.0
        records.append(
            WallConnectorSample(
                SERIAL,
                at,
                vehicle_connected=connected,
                contactor_closed=charging,
                evse_state=11 if charging else (9 if connected else 1),
                power_w=round(power, 1),
                vehicle_current_a=round(power / 3 / 230, 1),
                grid_v=round(230 + rng.gauss(0, 1.5), 1),
                grid_hz=round(50 + rng.gauss(0, 0.02), 3),
                session_energy_wh=round(energy, 1) if connected else None,
                handle_temp_c=round(18 + rng.gauss(0, 0.5), 1),
                pcba_temp_c=round(28 + rng.gauss(0, 0.5), 1),
                mcu_temp_c=round(33 + rng.gauss(0, 0.5), 1),
            )
        )
        sun = max(0.0, 1 - abs(minute - 780) / 360)
        solar = 5_000 * sun + rng.gauss(0, 30) * (sun > 0)
        load = 450 + rng.gauss(0, 60) + power
        records.append(
            SiteSample(
                SITE,
                at,
                solar_w=round(max(0.0, solar), 1),
                load_w=round(load, 1),
                grid_w=round(load - solar, 1),
                battery_w=0.0,
                battery_level=round(60 + 20 * sun, 2),
                grid_status="Active",
            )
        )
        if charging and minute % 15 == 0:
            records.append(
                ChargeSample(
                    VIN,
                    at,
                    session_key=session.key,
                    charging_state="Charging",
                    battery_level=round(45 + (at - charge_start) / 3_600_000 * 9, 1),
                    charge_limit_soc=80,
                    energy_added_wh=round(energy * 0.9, -1),
                    power_w=round(power, -2),
                    current_a=16.0,
                    voltage_v=round(230 + rng.gauss(0, 1.5)),
                    phases=3,
                )
            )
    end = charge_start + 4 * 3_600_000
    records += [
        replace(
            session,
            end_ms=end,
            energy_added_wh=round(energy * 0.9, -1),
            energy_grid_wh=round(energy, 1),
            end_battery_level=81.0,
            max_power_w=11_120.0,
            fast_charger=False,
            stop_reason="complete",
        ),
        replace(unit_session, end_ms=end + 300_000, energy_wh=round(energy, 1), charging_s=14_400.0),
        Event(
            EventKind.CHARGING_STOPPED, end, car, "Sleeper stopped charging", {"energy_wh": round(energy, 1)}
        ),
        Event(EventKind.CHARGE_COMPLETE, end, car, "Sleeper is charged to 81 %"),
        Event(EventKind.UNPLUGGED, end + 300_000, unit, "Sleeper unplugged at Garage"),
        Event(EventKind.CAR_ASLEEP, base + 23 * 3_600_000, car, "Sleeper is asleep"),
        ApiUsage(EMAIL, "2026-12", "data", 40 + day * 40, round((40 + day * 40) / 500, 3)),
    ]
    return records


async def _bytes(recorder: Recorder) -> tuple[int, dict[str, int]]:
    return await recorder.database_bytes(), await recorder.table_bytes()


def _per_group(tables: dict[str, int], empty: dict[str, int], days: int) -> dict[str, float]:
    return {
        group: sum(tables.get(name, 0) - empty.get(name, 0) for name in names) / days
        for group, names in GROUPS.items()
    }


async def measure(days: int, dsn: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = (
            StorageSettings(backend="postgres", dsn=dsn)
            if dsn
            else StorageSettings(path=Path(tmp) / "bench.db")
        )
        recorder = await open_recorder(
            settings, data_dir=Path(tmp), clock_ms=lambda: START_MS, batch_records=10**6
        )
        try:
            empty_total, empty_tables = await _bytes(recorder)
            rng = random.Random(11)
            rows = 0
            for day in range(days):
                for record in car_day(day, rng):
                    recorder.put(record)
                    rows += 1
                await recorder.flush()
            total, tables = await _bytes(recorder)
            removed = await recorder.downsample(START_MS + days * DAY_MS)
            thinned_total, thinned_tables = await _bytes(recorder)
        finally:
            await recorder.close()
    return {
        "backend": settings.backend,
        "days": days,
        "records_per_day": rows / days,
        "empty_database_bytes": empty_total,
        "bytes_per_car_day": (total - empty_total) / days,
        "bytes_per_car_day_by_group": _per_group(tables, empty_tables, days),
        "rows_downsampled_per_day": removed / days,
        "table_bytes_per_car_day_after_downsampling": _per_group(thinned_tables, empty_tables, days),
        "file_bytes_per_car_day_after_downsampling": (thinned_total - empty_total) / days,
        "teslamate_bytes_per_car_day": TESLAMATE_BYTES_PER_CAR_DAY,
        "target_bytes_per_car_day": TARGET_BYTES_PER_CAR_DAY,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dsn", default=None, help="measure PostgreSQL at this DSN instead of SQLite")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    result = asyncio.run(measure(max(1, options.days), options.dsn))
    if options.json:
        print(json.dumps(result, indent=2))
        return
    kb = 1000.0
    groups = result["bytes_per_car_day_by_group"]
    after = result["table_bytes_per_car_day_after_downsampling"]
    print(f"{result['backend']}: {result['days']} car-days, {result['records_per_day']:.0f} records a day")
    print(f"  bytes per car-day, whole database: {result['bytes_per_car_day'] / kb:8.1f} KB")
    for group, size in groups.items():
        print(f"    {group:<14} {size / kb:8.1f} KB   after downsampling {after[group] / kb:8.1f} KB")
    car = groups["car"]
    verdict = "met" if car <= TARGET_BYTES_PER_CAR_DAY else "NOT met"
    print(
        f"  TeslaMate ~{TESLAMATE_BYTES_PER_CAR_DAY / kb:.0f} KB per car-day; target <= "
        f"{TARGET_BYTES_PER_CAR_DAY / kb:.0f} KB: car tables {car / kb:.1f} KB ({verdict}); "
        f"with the house {result['bytes_per_car_day'] / kb:.1f} KB"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
