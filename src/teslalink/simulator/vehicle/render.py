"""What the Owner API shows of a car: the summary, the vehicle_data blocks, the streaming columns.

Field names, nesting and JSON types follow the real responses in tests/fixtures/owner_api (a 2019
Model 3 on a fast charger) and the newer fields owners report; every key of the fixture is
present with the same type (numbers that are floats there are floats here, even when whole).
API units are fixed whatever the car's display settings: miles, mph, Celsius; `gui_settings`
tells clients how to display them. Timestamps are the world clock in milliseconds (gps_as_of in
seconds).

Since firmware 2023.38 location is only sent when `location_data` is requested: without it
drive_state has no latitude, longitude, heading or native_* fields.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .battery import CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, CHARGE_LIMIT_STD
from .climate import MAX_TEMP_C, MIN_TEMP_C
from .routes import elevation_m
from .state import CLOSURES, WINDOWS, Media

if TYPE_CHECKING:
    from ..vehicle.car import Car

__all__ = ["BLOCKS", "DEFAULT_ENDPOINTS", "STREAM_COLUMNS", "summary", "telemetry", "vehicle_data"]

BLOCKS = ("charge_state", "climate_state", "drive_state", "gui_settings", "vehicle_config", "vehicle_state")
"""The data blocks vehicle_data can return, in the order it returns them."""

DEFAULT_ENDPOINTS = BLOCKS
"""endpoints=None: every block, without location (what TeslaPy asks for, minus location_data)."""

STREAM_COLUMNS = (
    "speed",
    "odometer",
    "soc",
    "elevation",
    "est_heading",
    "est_lat",
    "est_lng",
    "power",
    "shift_state",
    "range",
    "est_range",
    "heading",
)
"""The streaming columns in the order clients subscribe to them (docs/reference.md §2.5)."""

KPH_PER_MPH = 1.609344


def _ms(t: float) -> int:
    return int(t * 1000)


def summary(car: Car, t: float) -> dict[str, Any]:
    """The vehicle object of GET api/1/vehicles/{id} and of products."""
    state = car.state
    return {
        "id": car.id,
        "user_id": car.user_id,
        "vehicle_id": car.vehicle_id,
        "vin": car.vin,
        "color": None,
        "access_type": "OWNER",
        "display_name": car.display_name,
        "option_codes": car.option_codes,
        "granular_access": {"hide_private": False},
        "tokens": list(car.tokens),
        "state": state,
        "in_service": car.in_service,
        "id_s": car.id_s,
        "calendar_enabled": True,
        "api_version": car.api_version,
        "backseat_token": None,
        "backseat_token_updated_at": None,
        "ble_autopair_enrolled": False,
    }


def vehicle_data(car: Car, t: float, endpoints: Iterable[str] | None) -> dict[str, Any]:
    """The `response` of vehicle_data: the summary plus the requested blocks."""
    if isinstance(endpoints, str):  # the query string form: "charge_state;location_data"
        endpoints = endpoints.replace(",", ";").split(";")
    wanted = set(DEFAULT_ENDPOINTS if endpoints is None else (e.strip() for e in endpoints))
    location = "location_data" in wanted
    if location:
        wanted.add("drive_state")
    body = summary(car, t)
    for block in BLOCKS:
        if block in wanted:
            body[block] = _RENDERERS[block](car, t, location)
    return body


# --- charge_state -----------------------------------------------------------------------------


def charge_state(car: Car, t: float, location: bool = False) -> dict[str, Any]:
    port, battery, ac, dc = car.port, car.battery, car.port.ac, car.port.dc
    state = port.charging_state
    charging = state == "Charging"
    power_kw = port.power_kw() if charging else 0.0
    added_kwh = port.battery_added_kwh()
    hours = port.hours_to_full()
    amps = volts = pilot = 0
    phases: int | None = None
    if ac is not None:
        phys = ac.physics  # as of the car's sync: reading the unit would sync it to a later instant
        phases = 3 if port.three_phase else 1
        pilot = int(phys.max_current_a)
        if phys.contactor_closed:
            amps = round(phys.current_a)
            volts = round(phys.volts_per_amp / phases)
    elif dc is not None and charging:
        volts = 2  # what cars report on AC lines while a DC stall charges them
    level = battery.level
    scheduled_start = None
    if ac is not None and ac.start_at is not None:
        scheduled_start = int(ac.start_at)
    elif port.scheduled_enabled:
        scheduled_start = int(port.next_scheduled_start(t))
    dep = port.departure
    cable = "<invalid>" if not port.plugged else ("IEC" if car.eu_vehicle else "SAE")
    return {
        "battery_heater_on": False,
        "battery_level": level,
        "battery_range": round(battery.range_mi, 2),
        "charge_amps": port.current_request,
        "charge_current_request": port.current_request,
        "charge_current_request_max": port.request_max_a,
        "charge_enable_request": port.user_enable_request is not False,
        "charge_energy_added": round(port.energy_added_kwh(), 2),
        "charge_limit_soc": battery.limit_soc,
        "charge_limit_soc_max": CHARGE_LIMIT_MAX,
        "charge_limit_soc_min": CHARGE_LIMIT_MIN,
        "charge_limit_soc_std": CHARGE_LIMIT_STD,
        "charge_miles_added_ideal": round(added_kwh * 1000.0 / battery.wh_per_mi, 1),
        "charge_miles_added_rated": round(added_kwh * 1000.0 / battery.wh_per_mi, 1),
        "charge_port_cold_weather_mode": False,
        "charge_port_color": "<invalid>",
        "charge_port_door_open": port.door_open,
        "charge_port_latch": "Engaged" if port.plugged else "Disengaged",
        "charge_rate": round(port.pack_power_kw() * 1000.0 / battery.wh_per_mi, 1) if charging else 0.0,
        "charge_to_max_range": battery.limit_soc == CHARGE_LIMIT_MAX,
        "charger_actual_current": amps,
        "charger_phases": phases,
        "charger_pilot_current": pilot if ac is not None else port.current_request,
        "charger_power": round(power_kw),
        "charger_voltage": volts,
        "charging_state": state,
        "conn_charge_cable": cable,
        "est_battery_range": round(battery.est_range_mi, 2),
        "fast_charger_brand": "Tesla" if dc is not None else "<invalid>",
        "fast_charger_present": dc is not None,
        "fast_charger_type": ("Combo" if car.eu_vehicle else "Tesla") if dc is not None else "<invalid>",
        "ideal_battery_range": round(battery.range_mi, 2),
        "managed_charging_active": False,
        "managed_charging_start_time": None,
        "managed_charging_user_canceled": False,
        "max_range_charge_counter": port.max_range_charge_counter,
        "minutes_to_full_charge": round(hours * 60.0),
        "not_enough_power_to_heat": None,
        "off_peak_charging_enabled": dep.off_peak_charging_enabled,
        "off_peak_charging_times": "weekdays" if dep.off_peak_charging_weekdays_only else "all_week",
        "off_peak_hours_end_time": dep.end_off_peak_minutes,
        "preconditioning_enabled": dep.preconditioning_enabled,
        "preconditioning_times": "weekdays" if dep.preconditioning_weekdays_only else "all_week",
        "scheduled_charging_mode": "StartAt"
        if port.scheduled_enabled
        else ("DepartBy" if dep.enabled else "Off"),
        "scheduled_charging_pending": port.scheduled_pending,
        "scheduled_charging_start_time": scheduled_start,
        "scheduled_charging_start_time_app": port.scheduled_minutes,
        "scheduled_departure_time": _next_local(car, t, dep.departure_minutes) if dep.enabled else None,
        "scheduled_departure_time_minutes": dep.departure_minutes,
        "supercharger_session_trip_planner": False,
        "time_to_full_charge": round(hours, 2),
        "timestamp": _ms(t),
        "trip_charging": dc is not None,
        "usable_battery_level": level,  # lower only in the cold, which is not simulated
        "user_charge_enable_request": port.user_enable_request,
    }


def _next_local(car: Car, t: float, minutes: int) -> int:
    day = math.floor((t + car.local_offset_s) / 86_400.0) * 86_400.0 - car.local_offset_s
    when = day + minutes * 60.0
    return int(when if when > t else when + 86_400.0)


# --- climate_state ----------------------------------------------------------------------------


def climate_state(car: Car, t: float, location: bool = False) -> dict[str, Any]:
    c, heaters = car.climate, car.climate.seat_heaters
    inside, outside = car.inside_temp_c, car.outside_temp_c
    direction = 0 if not c.on else int(max(-500, min(500, round((c.driver_c - inside) * 20))))
    fan = 0 if not c.on else (7 if c.defrost else max(1, min(7, round(abs(c.driver_c - inside) / 2) + 2)))
    return {
        "allow_cabin_overheat_protection": True,
        "auto_seat_climate_left": False,
        "auto_seat_climate_right": False,
        "battery_heater": False,
        "battery_heater_no_power": None,
        "bioweapon_mode": c.bioweapon_mode,
        "cabin_overheat_protection": c.cabin_overheat_protection,
        "cabin_overheat_protection_actively_cooling": c.cabin_overheat_protection != "Off" and inside > 40.0,
        "climate_keeper_mode": c.keeper_mode,
        "cop_activation_temperature": "High",
        "defrost_mode": 2 if c.defrost else 0,
        "driver_temp_setting": float(c.driver_c),
        "fan_status": fan,
        "hvac_auto_request": "On",
        "inside_temp": round(inside, 1),
        "is_auto_conditioning_on": c.on,
        "is_climate_on": c.on,
        "is_front_defroster_on": c.defrost,
        "is_preconditioning": c.on and c.preconditioning,
        "is_rear_defroster_on": c.defrost,
        "left_temp_direction": direction,
        "max_avail_temp": MAX_TEMP_C,
        "min_avail_temp": MIN_TEMP_C,
        "outside_temp": round(outside, 1),
        "passenger_temp_setting": float(c.passenger_c),
        "remote_heater_control_enabled": c.on,
        "right_temp_direction": direction,
        "seat_heater_left": heaters[0],
        "seat_heater_rear_center": heaters[4],
        "seat_heater_rear_left": heaters[2],
        "seat_heater_rear_left_back": heaters[3],
        "seat_heater_rear_right": heaters[5],
        "seat_heater_right": heaters[1],
        "side_mirror_heaters": c.defrost,
        "smart_preconditioning": False,
        "steering_wheel_heater": c.steering_wheel_heater,
        "supports_fan_only_cabin_overheat_protection": True,
        "timestamp": _ms(t),
        "wiper_blade_heater": c.defrost,
    }


# --- drive_state ------------------------------------------------------------------------------


def drive_state(car: Car, t: float, location: bool = False) -> dict[str, Any]:
    kph, _, power = car.motion()
    body: dict[str, Any] = {}
    if location:
        lat, lon = car.location
        heading = round(car.heading) % 360
        body.update(
            gps_as_of=int(t),
            heading=heading,
            latitude=round(lat, 6),
            longitude=round(lon, 6),
            native_latitude=round(lat, 6),
            native_location_supported=1,
            native_longitude=round(lon, 6),
            native_type="wgs",
        )
    body["power"] = round(power)
    body["shift_state"] = car.shift_state
    body["speed"] = round(kph / KPH_PER_MPH) if car.is_driving else None
    body["timestamp"] = _ms(t)
    nav = car.navigation
    if nav is not None:
        body["active_route_destination"] = nav["destination"]
    return dict(sorted(body.items()))


# --- gui_settings, vehicle_config ---------------------------------------------------------------


def gui_settings(car: Car, t: float, location: bool = False) -> dict[str, Any]:
    per_hour = "km/hr" if car.units == "km" else "mi/hr"
    return {
        "gui_24_hour_time": car.temperature_units == "C",
        "gui_charge_rate_units": per_hour,
        "gui_distance_units": per_hour,
        "gui_range_display": "Rated",
        "gui_temperature_units": car.temperature_units,
        "gui_tirepressure_units": "Bar" if car.temperature_units == "C" else "Psi",
        "show_range_units": False,
        "timestamp": _ms(t),
    }


def vehicle_config(car: Car, t: float, location: bool = False) -> dict[str, Any]:
    spec = car.spec
    return {
        "aux_park_lamps": "Eu" if car.eu_vehicle else "NaPremium",
        "badge_version": 0,
        "can_accept_navigation_requests": True,
        "can_actuate_trunks": True,
        "car_special_type": "base",
        "car_type": spec.car_type,
        "charge_port_type": "CCS" if car.eu_vehicle else "US",
        "cop_user_set_temp_supported": True,
        "dashcam_clip_save_supported": True,
        "default_charge_to_max": False,
        "driver_assist": "TeslaAP3",
        "ece_restrictions": car.eu_vehicle,
        "efficiency_package": "Default",
        "eu_vehicle": car.eu_vehicle,
        "exterior_color": spec.exterior_color,
        "exterior_trim": "Black",
        "has_air_suspension": spec.letter in ("S", "X"),
        "has_ludicrous_mode": False,
        "has_seat_cooling": False,
        "headlamp_type": "Premium",
        "interior_trim_type": "Black2",
        "key_version": 2,
        "motorized_charge_port": True,
        "paint_color_override": "0,0,0,0.1,0.04",
        "performance_package": "Base",
        "plg": spec.letter in ("Y", "S", "X"),
        "pws": True,
        "rear_drive_unit": "PM216MOSFET",
        "rear_seat_heaters": 1,
        "rear_seat_type": None,
        "rhd": False,
        "roof_color": "RoofColorGlass",
        "seat_type": None,
        "spoiler_type": "None",
        "sun_roof_installed": 1 if spec.sun_roof else None,
        "supports_qr_pairing": False,
        "third_row_seats": "None" if spec.letter in ("3", "Y") else "FuturisFoldFlat",
        "timestamp": _ms(t),
        "trim_badging": "74d",
        "use_range_badging": True,
        "utc_offset": int(car.local_offset_s),
        "webcam_selfie_supported": True,
        "webcam_supported": True,
        "wheel_type": spec.wheel_type,
    }


# --- vehicle_state ----------------------------------------------------------------------------


def vehicle_state(car: Car, t: float, location: bool = False) -> dict[str, Any]:
    closures, sw, limit, media = car.closures, car.software, car.speed_limit, car.media
    present = car.is_user_present
    title, artist, album, duration = Media.TRACKS[media.track]
    body: dict[str, Any] = {
        "api_version": car.api_version,
        "autopark_state_v2": "unavailable",
        "calendar_supported": True,
        "car_version": car.car_version,
        "center_display_state": (2 if present else 0) if car.is_online else 0,
        "dashcam_clip_save_available": True,
        "dashcam_state": "Recording" if car.sentry_mode or car.is_driving else "Unavailable",
        "homelink_device_count": 1 if car.homelink else 0,
        "homelink_nearby": car.homelink_nearby,
        "is_user_present": present,
        "locked": closures.locked,
        "media_info": {
            "a2dp_source_name": "",
            "audio_volume": round(media.volume, 6),
            "audio_volume_increment": Media.VOLUME_STEP,
            "audio_volume_max": Media.VOLUME_MAX,
            "media_playback_status": "Playing" if media.playing else "Stopped",
            "now_playing_album": album if present else "",
            "now_playing_artist": artist if present else "",
            "now_playing_duration": duration * 1000 if present else 0,
            "now_playing_elapsed": 0,
            "now_playing_source": Media.STATIONS[media.favorite] if present else "",
            "now_playing_station": Media.STATIONS[media.favorite] if present else "",
            "now_playing_title": title if present else "",
        },
        "media_state": {"remote_control_enabled": True},
        "notifications_supported": True,
        "odometer": round(car.odometer_mi, 6),
        "parsed_calendar_supported": True,
        "remote_start": car.remote_start,
        "remote_start_enabled": True,
        "remote_start_supported": True,
        "santa_mode": 0,
        "sentry_mode": car.sentry_mode,
        "sentry_mode_available": True,
        "service_mode": False,
        "service_mode_plus": False,
        "software_update": {
            "download_perc": sw.download_perc(t),
            "expected_duration_sec": sw.expected_duration_s,
            "install_perc": sw.install_perc(t),
            "scheduled_time_ms": _ms(sw.scheduled_at) if sw.scheduled_at is not None else 0,
            "status": sw.status,
            "version": sw.version if sw.status else "",
            "warning_time_remaining_ms": (
                int(min(sw.WARNING_S, max(0.0, sw.scheduled_at - t)) * 1000)
                if sw.scheduled_at is not None
                else 0
            ),
        },
        "speed_limit_mode": {
            "active": limit.active,
            "current_limit_mph": float(limit.current_limit_mph),
            "max_limit_mph": limit.MAX_MPH,
            "min_limit_mph": limit.MIN_MPH,
            "pin_code_set": limit.pin is not None,
        },
        "sun_roof_percent_open": closures.sun_roof_percent_open if car.spec.sun_roof else None,
        "sun_roof_state": _sun_roof_state(car),
        "timestamp": _ms(t),
        "tpms_pressure_fl": car.tpms_bar[0],
        "tpms_pressure_fr": car.tpms_bar[1],
        "tpms_pressure_rl": car.tpms_bar[2],
        "tpms_pressure_rr": car.tpms_bar[3],
        "valet_mode": car.valet.active,
        "valet_pin_needed": car.valet.pin is None,
        "vehicle_name": car.display_name,
        "webcam_available": True,
    }
    for name in CLOSURES:
        body[name] = closures.open[name]
    for name in WINDOWS:
        body[name] = closures.windows[name]
    return dict(sorted(body.items()))


def _sun_roof_state(car: Car) -> str:
    if not car.spec.sun_roof:
        return "unknown"
    percent = car.closures.sun_roof_percent_open
    return "closed" if percent == 0 else ("vent" if percent <= 15 else "open")


_RENDERERS = {
    "charge_state": charge_state,
    "climate_state": climate_state,
    "drive_state": drive_state,
    "gui_settings": gui_settings,
    "vehicle_config": vehicle_config,
    "vehicle_state": vehicle_state,
}


# --- streaming --------------------------------------------------------------------------------


def telemetry(car: Car, t: float) -> dict[str, Any]:
    """The values the streaming server sends, by column name, plus `timestamp` (ms).

    None marks a missing value (an empty CSV field): speed and shift_state when parked.
    """
    kph, _, power = car.motion()
    lat, lon = car.location
    heading = round(car.heading) % 360
    battery = car.battery
    driving = car.is_driving
    return {
        "timestamp": _ms(t),
        "speed": round(kph / KPH_PER_MPH) if driving else None,
        "odometer": round(car.odometer_mi, 1),
        "soc": battery.level,
        "elevation": round(elevation_m((lat, lon))),
        "est_heading": heading,
        "est_lat": round(lat, 6),
        "est_lng": round(lon, 6),
        "power": round(power),
        "shift_state": car.shift_state,
        "range": round(battery.range_mi),
        "est_range": round(battery.est_range_mi),
        "heading": heading,
    }
