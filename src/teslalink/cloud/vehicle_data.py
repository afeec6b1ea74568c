"""`VehicleData`: the answer of vehicle_data, with typed accessors and the car's GUI units.

Apart from the client (`vehicle.py`) because it is a model: it sends nothing, and the car watcher,
the dashboard and a recorder build and read it without a `Vehicle`. Each accessor reads its field
through the shared converters (`teslalink._convert`), so a field a firmware lacks or sends with
another type reads as None, never KeyError and never a wrong number.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .._convert import to_bool, to_float, to_nearest_int, to_str

__all__ = ["KM_PER_MILE", "SoftwareUpdate", "SpeedLimitMode", "VehicleData"]

KM_PER_MILE: Final = 1.609344


def _block(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class SpeedLimitMode:
    active: bool | None
    pin_code_set: bool | None
    current_limit_mph: float | None
    min_limit_mph: float | None
    max_limit_mph: float | None


@dataclass(frozen=True, slots=True)
class SoftwareUpdate:
    status: str | None
    version: str | None
    download_perc: int | None
    install_perc: int | None
    expected_duration_sec: int | None
    scheduled_time_ms: int | None


@dataclass(frozen=True, slots=True)
class VehicleData:
    """The answer of vehicle_data: typed accessors for the common fields, the answer on `.raw`.

    A block that was not asked for (or a field a firmware lacks) reads as None, never KeyError.
    Distances are miles and temperatures Celsius, as the API sends them whatever the GUI shows;
    `format_distance` and `format_temperature` give them in the car's GUI units.
    """

    raw: Mapping[str, Any] = field(repr=False)

    @property
    def charge_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "charge_state")

    @property
    def climate_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "climate_state")

    @property
    def drive_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "drive_state")

    @property
    def vehicle_state(self) -> Mapping[str, Any]:
        return _block(self.raw, "vehicle_state")

    @property
    def gui_settings(self) -> Mapping[str, Any]:
        return _block(self.raw, "gui_settings")

    @property
    def vehicle_config(self) -> Mapping[str, Any]:
        return _block(self.raw, "vehicle_config")

    # identity
    @property
    def vin(self) -> str | None:
        return to_str(self.raw.get("vin"))

    @property
    def state(self) -> str | None:
        return to_str(self.raw.get("state"))

    # charge
    @property
    def battery_level(self) -> int | None:
        return to_nearest_int(self.charge_state.get("battery_level"))

    @property
    def charging_state(self) -> str | None:
        return to_str(self.charge_state.get("charging_state"))

    @property
    def charge_limit_soc(self) -> int | None:
        return to_nearest_int(self.charge_state.get("charge_limit_soc"))

    @property
    def charger_power_kw(self) -> float | None:
        return to_float(self.charge_state.get("charger_power"))

    @property
    def charger_actual_current_a(self) -> float | None:
        return to_float(self.charge_state.get("charger_actual_current"))

    @property
    def charger_voltage_v(self) -> float | None:
        return to_float(self.charge_state.get("charger_voltage"))

    @property
    def charge_current_request_a(self) -> float | None:
        return to_float(self.charge_state.get("charge_current_request"))

    @property
    def charge_energy_added_kwh(self) -> float | None:
        return to_float(self.charge_state.get("charge_energy_added"))

    @property
    def est_battery_range_mi(self) -> float | None:
        return to_float(self.charge_state.get("est_battery_range"))

    @property
    def battery_range_mi(self) -> float | None:
        return to_float(self.charge_state.get("battery_range"))

    @property
    def minutes_to_full_charge(self) -> int | None:
        return to_nearest_int(self.charge_state.get("minutes_to_full_charge"))

    # climate
    @property
    def inside_temp_c(self) -> float | None:
        return to_float(self.climate_state.get("inside_temp"))

    @property
    def outside_temp_c(self) -> float | None:
        return to_float(self.climate_state.get("outside_temp"))

    @property
    def is_climate_on(self) -> bool | None:
        return to_bool(self.climate_state.get("is_climate_on"))

    @property
    def driver_temp_setting_c(self) -> float | None:
        return to_float(self.climate_state.get("driver_temp_setting"))

    # vehicle state
    @property
    def locked(self) -> bool | None:
        return to_bool(self.vehicle_state.get("locked"))

    @property
    def odometer_mi(self) -> float | None:
        return to_float(self.vehicle_state.get("odometer"))

    @property
    def sentry_mode(self) -> bool | None:
        return to_bool(self.vehicle_state.get("sentry_mode"))

    @property
    def car_version(self) -> str | None:
        return to_str(self.vehicle_state.get("car_version"))

    @property
    def speed_limit_mode(self) -> SpeedLimitMode | None:
        mode = self.vehicle_state.get("speed_limit_mode")
        if not isinstance(mode, Mapping):
            return None
        return SpeedLimitMode(
            active=to_bool(mode.get("active")),
            pin_code_set=to_bool(mode.get("pin_code_set")),
            current_limit_mph=to_float(mode.get("current_limit_mph")),
            min_limit_mph=to_float(mode.get("min_limit_mph")),
            max_limit_mph=to_float(mode.get("max_limit_mph")),
        )

    @property
    def software_update(self) -> SoftwareUpdate | None:
        update = self.vehicle_state.get("software_update")
        if not isinstance(update, Mapping):
            return None
        return SoftwareUpdate(
            status=to_str(update.get("status")),
            version=to_str(update.get("version")),
            download_perc=to_nearest_int(update.get("download_perc")),
            install_perc=to_nearest_int(update.get("install_perc")),
            expected_duration_sec=to_nearest_int(update.get("expected_duration_sec")),
            scheduled_time_ms=to_nearest_int(update.get("scheduled_time_ms")),
        )

    # drive (the position needs the location_data block)
    @property
    def latitude(self) -> float | None:
        return to_float(self.drive_state.get("latitude"))

    @property
    def longitude(self) -> float | None:
        return to_float(self.drive_state.get("longitude"))

    @property
    def heading(self) -> float | None:
        return to_float(self.drive_state.get("heading"))

    @property
    def speed_mph(self) -> float | None:
        return to_float(self.drive_state.get("speed"))

    @property
    def shift_state(self) -> str | None:
        return to_str(self.drive_state.get("shift_state"))

    @property
    def power_kw(self) -> float | None:
        return to_float(self.drive_state.get("power"))

    # GUI units
    @property
    def gui_distance_units(self) -> str | None:
        return to_str(self.gui_settings.get("gui_distance_units"))

    @property
    def gui_temperature_units(self) -> str | None:
        return to_str(self.gui_settings.get("gui_temperature_units"))

    @property
    def gui_24_hour_time(self) -> bool | None:
        return to_bool(self.gui_settings.get("gui_24_hour_time"))

    @property
    def uses_km(self) -> bool:
        return "km" in (self.gui_distance_units or "")

    @property
    def uses_fahrenheit(self) -> bool:
        return (self.gui_temperature_units or "F").upper().startswith("F")

    def format_distance(self, miles: float | None, *, speed: bool = False) -> str | None:
        """Miles (or mph) as the car's GUI shows them: "12.3 km" or "7.6 mi" ("km/h", "mph")."""
        if miles is None:
            return None
        if self.uses_km:
            return f"{miles * KM_PER_MILE:.1f} {'km/h' if speed else 'km'}"
        return f"{miles:.1f} {'mph' if speed else 'mi'}"

    def format_temperature(self, celsius: float | None) -> str | None:
        """Celsius as the car's GUI shows it: "70.2 F" or "21.2 C"."""
        if celsius is None:
            return None
        if self.uses_fahrenheit:
            return f"{celsius * 1.8 + 32:.1f} F"
        return f"{celsius:.1f} C"

    def gui_time(self, timestamp_ms: float, *, utc_offset_s: float | None = None) -> str:
        """A time in the GUI's 12 or 24 hour style, in the car's zone (vehicle_config.utc_offset)."""
        offset = utc_offset_s if utc_offset_s is not None else to_float(self.vehicle_config.get("utc_offset"))
        moment = time.gmtime(timestamp_ms / 1000.0 + (offset or 0.0))
        return time.strftime("%H:%M:%S" if self.gui_24_hour_time else "%I:%M:%S %p", moment)

    @property
    def timestamp_ms(self) -> int | None:
        """When the car produced this data (charge_state's timestamp, else any block's)."""
        for block in ("charge_state", "climate_state", "drive_state", "vehicle_state", "gui_settings"):
            stamp = to_nearest_int(_block(self.raw, block).get("timestamp"))
            if stamp is not None:
                return stamp
        return None

    def last_seen(self, now: float | None = None) -> str:
        """How long ago the data was produced, in words ("just now", "5 minutes ago", "2 days ago")."""
        stamp = self.timestamp_ms
        if stamp is None:
            return "unknown"
        return _ago((time.time() if now is None else now) - stamp / 1000.0)


_AGO_STEPS: Final = ((60.0, "second"), (60.0, "minute"), (24.0, "hour"), (7.0, "day"), (4.35, "week"))


def _ago(seconds: float) -> str:
    if seconds < 1.0:
        return "just now"
    value = seconds
    unit = "second"
    for size, name in _AGO_STEPS:
        unit = name
        if value < size:
            break
        value /= size
    else:
        unit = "month"
        if value >= 12.0:
            value, unit = value / 12.0, "year"
    count = round(value)
    return f"{count} {unit}{'' if count == 1 else 's'} ago"
