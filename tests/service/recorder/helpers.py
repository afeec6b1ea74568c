"""Records for the recorder's tests: one of every kind, with values at the stored resolution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

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
    SiteEnergyDay,
    SiteSample,
    StateSpan,
    WallConnectorSample,
    WallConnectorSession,
)
from teslalink.service.settings import StorageSettings

VIN = "5YJ3E1EA7KF317000"
VIN2 = "7SAYGDEE1PA100200"
SERIAL = "PGT21234567890"
SITE = "2252180001234567"
EMAIL = "owner@teslalink.test"
T0 = 1_796_000_000_000  # epoch ms, Dec 2026


class Clock:
    """The service's clock in tests: epoch ms that only move when told."""

    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def one_of_each() -> list[Record]:
    """Every record type once, with every field given (fixed-point values at their resolution)."""
    return [
        CarInfo(
            VIN, EMAIL, name="Sleeper", model="Model 3", vehicle_id=1_493_000_000_123, id=3_744_000_000_456
        ),
        StateSpan("state-1", VIN, CarState.DRIVING, T0, T0 + 1_800_000),
        Drive(
            "drive-1",
            VIN,
            T0,
            T0 + 1_800_000,
            start_odometer_km=12_345.678,
            end_odometer_km=12_370.912,
            distance_km=25.234,
            start_battery_level=81.0,
            end_battery_level=76.0,
            start_range_km=402.3,
            end_range_km=377.9,
            energy_used_wh=4_123.5,
            speed_max_kmh=104.2,
            start_latitude=37.4219983,
            start_longitude=-122.084,
            end_latitude=37.3318598,
            end_longitude=-122.0302485,
        ),
        Position(
            VIN,
            T0 + 15_000,
            37.4219983,
            -122.0841234,
            drive_key="drive-1",
            speed_kmh=52.3,
            power_kw=18.25,
            heading=271.5,
            odometer_km=12_345.901,
            battery_level=80.5,
        ),
        ChargingSession(
            "charge-1",
            ChargeSource.BOTH,
            T0 + 3_600_000,
            T0 + 18_000_000,
            vin=VIN,
            serial=SERIAL,
            energy_added_wh=30_120.0,
            energy_grid_wh=33_456.7,
            start_battery_level=40.0,
            end_battery_level=80.0,
            max_power_w=11_040.0,
            fast_charger=False,
            stop_reason="complete",
        ),
        ChargeSample(
            VIN,
            T0 + 3_660_000,
            session_key="charge-1",
            charging_state="Charging",
            battery_level=41.5,
            charge_limit_soc=80.0,
            energy_added_wh=120.0,
            power_w=11_000.0,
            current_a=15.5,
            voltage_v=236.4,
            phases=3,
        ),
        WallConnectorSession(
            "wc-session-1",
            SERIAL,
            T0 + 3_500_000,
            T0 + 18_100_000,
            energy_wh=33_456.7,
            charging_s=14_400.5,
            vin=VIN,
        ),
        WallConnectorSample(
            SERIAL,
            T0 + 3_660_000,
            vehicle_connected=True,
            contactor_closed=True,
            evse_state=11,
            power_w=11_040.0,
            vehicle_current_a=15.9,
            grid_v=231.4,
            grid_hz=49.987,
            session_energy_wh=183.4,
            handle_temp_c=21.3,
            pcba_temp_c=30.1,
            mcu_temp_c=35.7,
        ),
        SiteSample(
            SITE,
            T0 + 60_000,
            solar_w=4_210.0,
            load_w=1_350.0,
            grid_w=-2_860.0,
            battery_w=0.0,
            battery_level=67.3,
            grid_status="Active",
        ),
        SiteEnergyDay(
            SITE,
            "2026-11-30",
            solar_wh=31_204.5,
            home_wh=22_871.25,
            grid_import_wh=4_310.0,
            grid_export_wh=9_950.125,
            battery_charge_wh=7_420.0,
            battery_discharge_wh=None,  # not given: None, never 0
            site_name="Home",
        ),
        ApiUsage(EMAIL, "2026-12", "data", 412, 0.824),
        Event(
            EventKind.CHARGING_STARTED,
            T0 + 3_600_000,
            DeviceRef(DeviceKind.CAR, VIN, "Sleeper"),
            "Sleeper started charging at Garage",
            {"battery_level": 40, "power_w": 11040.0, "where": "Garage", "fast": False, "note": None},
        ),
    ]


async def read_back(recorder: Recorder) -> list[Record]:
    """Everything the one_of_each() records wrote, through the query functions."""
    return [
        *await recorder.cars(),
        *await recorder.states(),
        *await recorder.drives(),
        *await recorder.positions(VIN),
        *await recorder.charges(),
        *await recorder.charge_samples(VIN),
        *await recorder.sessions(),
        *await recorder.wallconnector_samples(SERIAL),
        *await recorder.site_samples(SITE),
        *await recorder.site_energy_days(),
        *await recorder.api_usage(),
        *await recorder.events(),
    ]


async def opened(
    settings: StorageSettings,
    data_dir: Path,
    clock: Callable[[], int],
    batch_s: float = 3600.0,
    **tuning: object,
) -> Recorder:
    """A recorder on `settings`; by default only flush() commits (an hour's timer, no size
    trigger), so what a test reads is what it flushed."""
    defaults: dict[str, object] = {"batch_records": 100_000}
    return await open_recorder(
        replace(settings, batch_s=batch_s), data_dir=data_dir, clock_ms=clock, **{**defaults, **tuning}
    )
