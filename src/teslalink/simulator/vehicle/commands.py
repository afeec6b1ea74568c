"""Vehicle commands: one small function per command, registered by its path name.

`Car.command_response` checks what the cloud checks first (unknown name, in service, signing,
asleep) and then calls the function registered here with the synced car and a `Call` (world
time and the request's parameters). A function answers ``(result, reason)``: reason is "" on
success, the car's reason otherwise. Parameters arrive as JSON or form values, so numbers and
booleans are accepted as strings too ("true", "1", "75").

Reasons are the real ones where they are known (REFERENCE 2.3: ``user_not_present``,
``already_set``, ``is_charging``, ``not_charging``, ``complete``, ``disconnected``). Where no
source gives the string, we chose one and name it here, so a client can rely on *something*:

==============================  ===========================================================
reason (our choice)             when
==============================  ===========================================================
``invalid_value``               a parameter is missing, malformed or out of range
``incorrect_pin``               a speed-limit or valet PIN that does not match the set one
``speed_limit_active``          speed_limit_set_limit / speed_limit_clear_pin while active
``not_active``                  speed_limit_deactivate while inactive
``too_far_from_vehicle``        window close / HomeLink with a lat/lon more than 1 km away
``homelink_not_nearby``         trigger_homelink away from the HomeLink device
``not_supported``               the car has no such hardware (sun roof, HomeLink)
``cable_connected``             charge_port_door_close with a cable in
``no_update_available``         schedule_software_update with nothing downloaded
``no_update_scheduled``         cancel_software_update with nothing scheduled
``invalid_password``            remote_start_drive with a wrong account password
``software_update_in_progress`` any command while an update installs (see physics.car)
==============================  ===========================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .battery import CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, CHARGE_LIMIT_STD
from .climate import MAX_TEMP_C, MIN_TEMP_C
from .routes import distance_m
from .state import WINDOWS, Media, SpeedLimit

if TYPE_CHECKING:
    from ..physics.car import Car

__all__ = ["COMMANDS", "EXTRAS", "Call", "Handler"]

Result = tuple[bool, str]
OK: Result = (True, "")
NEAR_VEHICLE_M = 1_000.0
_PIN = re.compile(r"^\d{4}$")


@dataclass(frozen=True, slots=True)
class Call:
    """One command request: the world time it runs at and its parameters."""

    t: float
    params: Mapping[str, Any]


Handler = Callable[["Car", Call], Result]
COMMANDS: dict[str, Handler] = {}
"""Every command the car knows, by the path name after command/."""

EXTRAS: dict[str, Callable[[Car, float], dict[str, Any]]] = {}
"""Fields some commands add to their response besides result and reason."""


def command(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = fn
        return fn

    return register


class _Invalid(Exception):
    """A parameter is missing or malformed: the command answers invalid_value."""


def _get(call: Call, key: str) -> Any:
    if key not in call.params or call.params[key] is None:
        raise _Invalid(key)
    return call.params[key]


def _bool(call: Call, key: str, default: bool | None = None) -> bool:
    if default is not None and call.params.get(key) is None:
        return default
    value = _get(call, key)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    raise _Invalid(key)


def _float(call: Call, key: str) -> float:
    value = _get(call, key)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Invalid(key) from None
    if not math.isfinite(number):
        raise _Invalid(key)
    return number


def _int(call: Call, key: str) -> int:
    number = _float(call, key)
    if number != int(number):
        raise _Invalid(key)
    return int(number)


def _pin(call: Call, key: str = "pin") -> str:
    value = call.params.get(key)
    text = str(value).strip() if value is not None else ""
    if not _PIN.match(text):
        raise _Invalid(key)
    return text


def _guarded(fn: Handler) -> Handler:
    def run(car: Car, call: Call) -> Result:
        try:
            return fn(car, call)
        except _Invalid:
            return False, "invalid_value"

    run.__doc__ = fn.__doc__
    run.__name__ = fn.__name__
    return run


def _near(car: Car, call: Call) -> bool:
    """The lat/lon in the call is within ~1 km of the car."""
    return distance_m((_float(call, "lat"), _float(call, "lon")), car.location) <= NEAR_VEHICLE_M


# --- doors, lights, horn, trunks, windows --------------------------------------------------------


@command("door_unlock")
def door_unlock(car: Car, call: Call) -> Result:
    car.closures.locked = False
    return OK


@command("door_lock")
def door_lock(car: Car, call: Call) -> Result:
    car.closures.locked = True
    return OK


@command("honk_horn", "flash_lights", "remote_boombox")
def no_state(car: Car, call: Call) -> Result:
    """Sound and light: nothing in the data changes."""
    return OK


@command("actuate_trunk")
@_guarded
def actuate_trunk(car: Car, call: Call) -> Result:
    """front opens the frunk (it cannot be closed remotely); rear opens or closes the liftgate."""
    which = str(_get(call, "which_trunk")).lower()
    if which == "front":
        car.closures.open["ft"] = 1
    elif which == "rear":
        car.closures.open["rt"] = 0 if car.closures.open["rt"] else 1
    else:
        return False, "invalid_value"
    return OK


@command("window_control")
@_guarded
def window_control(car: Car, call: Call) -> Result:
    """vent opens every window a little; close needs the phone's lat/lon near the car."""
    action = str(_get(call, "command")).lower()
    if action == "vent":
        position = 1
    elif action == "close":
        if not _near(car, call):
            return False, "too_far_from_vehicle"
        position = 0
    else:
        return False, "invalid_value"
    for window in WINDOWS:
        car.closures.windows[window] = position
    return OK


@command("sun_roof_control")
@_guarded
def sun_roof_control(car: Car, call: Call) -> Result:
    if not car.spec.sun_roof:
        return False, "not_supported"
    state = str(_get(call, "state")).lower()
    percent = {"vent": 15, "close": 0, "comfort": 80, "open": 100}.get(state)
    if percent is None:
        return False, "invalid_value"
    car.closures.sun_roof_percent_open = percent
    return OK


@command("trigger_homelink")
@_guarded
def trigger_homelink(car: Car, call: Call) -> Result:
    if not car.homelink:
        return False, "not_supported"
    if not _near(car, call):
        return False, "too_far_from_vehicle"
    if not car.homelink_nearby:
        return False, "homelink_not_nearby"
    return OK


# --- security ---------------------------------------------------------------------------------


@command("set_sentry_mode")
@_guarded
def set_sentry_mode(car: Car, call: Call) -> Result:
    car.sentry_mode = _bool(call, "on")
    return OK


@command("set_valet_mode")
@_guarded
def set_valet_mode(car: Car, call: Call) -> Result:
    """On needs a 4-digit PIN when none is set (it becomes the PIN); the app turns it off without."""
    valet = car.valet
    if not _bool(call, "on"):
        valet.active = False
        return OK
    if valet.pin is None:
        valet.pin = _pin(call, "password")
    elif call.params.get("password") is not None and _pin(call, "password") != valet.pin:
        return False, "incorrect_pin"
    valet.active = True
    return OK


@command("reset_valet_pin")
def reset_valet_pin(car: Car, call: Call) -> Result:
    car.valet.pin = None
    return OK


@command("remote_start_drive")
def remote_start_drive(car: Car, call: Call) -> Result:
    """Keyless driving for two minutes; a password, if sent, must be the account's."""
    password = call.params.get("password")
    if password is not None and str(password) != car.account.password:
        return False, "invalid_password"
    car._start_remote_drive(call.t)
    return OK


@command("speed_limit_set_limit")
@_guarded
def speed_limit_set_limit(car: Car, call: Call) -> Result:
    """Only while the mode is inactive; 50-90 mph, checked here as Tesla's server does."""
    limit = _float(call, "limit_mph")
    if car.speed_limit.active:
        return False, "speed_limit_active"
    if not SpeedLimit.MIN_MPH <= limit <= SpeedLimit.MAX_MPH:
        return False, "invalid_value"
    car.speed_limit.current_limit_mph = float(limit)
    return OK


@command("speed_limit_activate")
@_guarded
def speed_limit_activate(car: Car, call: Call) -> Result:
    """With a PIN set, the PIN must match; with none set, any 4-digit PIN becomes the PIN."""
    pin, mode = _pin(call), car.speed_limit
    if mode.pin is not None and pin != mode.pin:
        return False, "incorrect_pin"
    if mode.active:
        return False, "already_set"
    mode.pin, mode.active = pin, True
    return OK


@command("speed_limit_deactivate")
@_guarded
def speed_limit_deactivate(car: Car, call: Call) -> Result:
    pin, mode = _pin(call), car.speed_limit
    if not mode.active:
        return False, "not_active"
    if pin != mode.pin:
        return False, "incorrect_pin"
    mode.active = False
    return OK


@command("speed_limit_clear_pin")
@_guarded
def speed_limit_clear_pin(car: Car, call: Call) -> Result:
    """Only while inactive, and with the PIN."""
    pin, mode = _pin(call), car.speed_limit
    if mode.active:
        return False, "speed_limit_active"
    if mode.pin is not None and pin != mode.pin:
        return False, "incorrect_pin"
    mode.pin = None
    return OK


# --- climate ----------------------------------------------------------------------------------


@command("auto_conditioning_start")
def auto_conditioning_start(car: Car, call: Call) -> Result:
    car._set_climate(call.t, True)
    car.climate.preconditioning = not car.is_user_present
    return OK


@command("auto_conditioning_stop")
def auto_conditioning_stop(car: Car, call: Call) -> Result:
    car._set_climate(call.t, False)
    return OK


@command("set_preconditioning_max")
@_guarded
def set_preconditioning_max(car: Car, call: Call) -> Result:
    """Max defrost: climate on at full heat with both defrosters; off returns to normal climate."""
    on = _bool(call, "on")
    if on:
        car._set_climate(call.t, True)
    car.climate.defrost = on
    return OK


@command("set_temps")
@_guarded
def set_temps(car: Car, call: Call) -> Result:
    driver = _float(call, "driver_temp")
    passenger = _float(call, "passenger_temp") if call.params.get("passenger_temp") is not None else driver
    if not (MIN_TEMP_C <= driver <= MAX_TEMP_C and MIN_TEMP_C <= passenger <= MAX_TEMP_C):
        return False, "invalid_value"
    car.climate.driver_c, car.climate.passenger_c = float(driver), float(passenger)
    return OK


@command("set_climate_keeper_mode")
@_guarded
def set_climate_keeper_mode(car: Car, call: Call) -> Result:
    """0 off, 1 keep (on), 2 dog, 3 camp: any but off keeps climate on and the car awake."""
    modes = ("off", "on", "dog", "camp")
    mode = _int(call, "climate_keeper_mode")
    if not 0 <= mode < len(modes):
        return False, "invalid_value"
    if mode:
        car._set_climate(call.t, True)
        car.climate.keeper_mode = modes[mode]
    else:
        car.climate.keeper_mode = "off"
    return OK


@command("set_cabin_overheat_protection")
@_guarded
def set_cabin_overheat_protection(car: Car, call: Call) -> Result:
    on, fan_only = _bool(call, "on"), _bool(call, "fan_only", default=False)
    car.climate.cabin_overheat_protection = ("FanOnly" if fan_only else "On") if on else "Off"
    return OK


@command("set_bioweapon_mode")
@_guarded
def set_bioweapon_mode(car: Car, call: Call) -> Result:
    car.climate.bioweapon_mode = _bool(call, "on")
    return OK


@command("remote_seat_heater_request")
@_guarded
def remote_seat_heater_request(car: Car, call: Call) -> Result:
    """heater 0 driver, 1 passenger, 2 rear left, 3 rear left back, 4 rear center, 5 rear right."""
    heater, level = _int(call, "heater"), _int(call, "level")
    if not (0 <= heater <= 5 and 0 <= level <= 3):
        return False, "invalid_value"
    car.climate.seat_heaters[heater] = level
    return OK


@command("remote_steering_wheel_heater_request")
@_guarded
def remote_steering_wheel_heater_request(car: Car, call: Call) -> Result:
    car.climate.steering_wheel_heater = _bool(call, "on")
    return OK


# --- charging ---------------------------------------------------------------------------------


def _set_limit(car: Car, call: Call, percent: int) -> Result:
    if not CHARGE_LIMIT_MIN <= percent <= CHARGE_LIMIT_MAX:
        return False, "invalid_value"
    if percent == car.battery.limit_soc:
        return False, "already_set"
    car.port.set_limit(percent, call.t)
    return OK


@command("set_charge_limit")
@_guarded
def set_charge_limit(car: Car, call: Call) -> Result:
    """50-100 %; the current value answers already_set."""
    return _set_limit(car, call, _int(call, "percent"))


@command("charge_max_range")
def charge_max_range(car: Car, call: Call) -> Result:
    return _set_limit(car, call, CHARGE_LIMIT_MAX)


@command("charge_standard")
def charge_standard(car: Car, call: Call) -> Result:
    return _set_limit(car, call, CHARGE_LIMIT_STD)


@command("set_charging_amps")
@_guarded
def set_charging_amps(car: Car, call: Call) -> Result:
    """0-1 A give 2 A, 2-3 A give 3 A, above the charger's maximum gives the maximum."""
    amps = _float(call, "charging_amps")
    if amps < 0:
        return False, "invalid_value"
    request = 2 if amps < 2 else 3 if amps < 4 else min(int(amps), car.port.request_max_a)
    car.port.set_amps(request)
    return OK


@command("charge_start")
def charge_start(car: Car, call: Call) -> Result:
    reason = car.port.start(call.t)
    return reason == "", reason


@command("charge_stop")
def charge_stop(car: Car, call: Call) -> Result:
    reason = car.port.stop(call.t)
    return reason == "", reason


@command("charge_port_door_open")
def charge_port_door_open(car: Car, call: Call) -> Result:
    car.port.door_open = True
    return OK


@command("charge_port_door_close")
def charge_port_door_close(car: Car, call: Call) -> Result:
    if car.port.plugged:
        return False, "cable_connected"
    car.port.door_open = False
    return OK


@command("set_scheduled_charging")
@_guarded
def set_scheduled_charging(car: Car, call: Call) -> Result:
    """enable + time (minutes after local midnight): a plugged-in car waits for that time."""
    enable = _bool(call, "enable")
    port = car.port
    if enable:
        minutes = _int(call, "time")
        if not 0 <= minutes < 24 * 60:
            return False, "invalid_value"
        port.scheduled_minutes = minutes
    port.scheduled_enabled = enable
    ac = port.ac
    if ac is None or ac.finished:
        return OK
    if enable:
        start_at = port.next_scheduled_start(call.t)
        if start_at > call.t:
            if ac.wants:
                ac.stop(call.t)
            ac.start_at = start_at
    elif ac.start_at is not None and not car.battery.at_limit:
        ac.start(call.t)
    return OK


@command("set_scheduled_departure")
@_guarded
def set_scheduled_departure(car: Car, call: Call) -> Result:
    """Stores the departure settings the API shows (no preconditioning or off-peak logic runs)."""
    dep = car.port.departure
    dep.enabled = _bool(call, "enable")
    if call.params.get("departure_time") is not None:
        dep.departure_minutes = _int(call, "departure_time")
    dep.preconditioning_enabled = _bool(call, "preconditioning_enabled", default=dep.preconditioning_enabled)
    dep.preconditioning_weekdays_only = _bool(
        call, "preconditioning_weekdays_only", default=dep.preconditioning_weekdays_only
    )
    dep.off_peak_charging_enabled = _bool(
        call, "off_peak_charging_enabled", default=dep.off_peak_charging_enabled
    )
    dep.off_peak_charging_weekdays_only = _bool(
        call, "off_peak_charging_weekdays_only", default=dep.off_peak_charging_weekdays_only
    )
    if call.params.get("end_off_peak_time") is not None:
        dep.end_off_peak_minutes = _int(call, "end_off_peak_time")
    return OK


# --- software ---------------------------------------------------------------------------------


@command("schedule_software_update")
@_guarded
def schedule_software_update(car: Car, call: Call) -> Result:
    offset = _float(call, "offset_sec")
    sw = car.software
    if offset < 0:
        return False, "invalid_value"
    if sw.status not in ("available", "scheduled"):
        return False, "no_update_available"
    sw.status, sw.scheduled_at = "scheduled", call.t + offset
    return OK


def _schedule_extras(car: Car, t: float) -> dict[str, Any]:
    sw = car.software
    at = sw.scheduled_at if sw.scheduled_at is not None else t
    return {
        "expected_duration_sec": sw.expected_duration_s,
        "scheduled_time_ms": int(at * 1000),
        "status": sw.status,
        "warning_time_remaining_ms": int(min(sw.WARNING_S, max(0.0, at - t)) * 1000),
    }


EXTRAS["schedule_software_update"] = _schedule_extras


@command("cancel_software_update")
def cancel_software_update(car: Car, call: Call) -> Result:
    sw = car.software
    if sw.status != "scheduled":
        return False, "no_update_scheduled"
    sw.status, sw.scheduled_at = "available", None
    return OK


# --- media (a user must be in the car) --------------------------------------------------------


def _media(step: Callable[[Media], None]) -> Handler:
    def run(car: Car, call: Call) -> Result:
        if not car.is_user_present:
            return False, "user_not_present"
        step(car.media)
        return OK

    return run


def _toggle(m: Media) -> None:
    m.playing = not m.playing


def _next_track(m: Media) -> None:
    m.track = (m.track + 1) % len(Media.TRACKS)


def _prev_track(m: Media) -> None:
    m.track = (m.track - 1) % len(Media.TRACKS)


def _next_fav(m: Media) -> None:
    m.favorite = (m.favorite + 1) % len(Media.STATIONS)


def _prev_fav(m: Media) -> None:
    m.favorite = (m.favorite - 1) % len(Media.STATIONS)


def _volume_up(m: Media) -> None:
    m.volume = min(Media.VOLUME_MAX, m.volume + Media.VOLUME_STEP)


def _volume_down(m: Media) -> None:
    m.volume = max(0.0, m.volume - Media.VOLUME_STEP)


COMMANDS.update(
    media_toggle_playback=_media(_toggle),
    media_next_track=_media(_next_track),
    media_prev_track=_media(_prev_track),
    media_next_fav=_media(_next_fav),
    media_prev_fav=_media(_prev_fav),
    media_volume_up=_media(_volume_up),
    media_volume_down=_media(_volume_down),
)


@command("adjust_volume")
@_guarded
def adjust_volume(car: Car, call: Call) -> Result:
    volume = _float(call, "volume")
    if not car.is_user_present:
        return False, "user_not_present"
    if not 0 <= volume <= Media.VOLUME_MAX:
        return False, "invalid_value"
    car.media.volume = volume
    return OK


# --- navigation and naming --------------------------------------------------------------------


@command("navigation_request", "share")
@_guarded
def navigation_request(car: Car, call: Call) -> Result:
    """Share a destination (the app's "share" of an address or a place)."""
    value = _get(call, "value")
    if isinstance(value, Mapping):
        text = str(value.get("android.intent.extra.TEXT", "")).strip()
    else:
        text = str(value).strip()
    if not text:
        return False, "invalid_value"
    car.navigation = {"destination": text, "requested_at": call.t}
    return OK


@command("set_vehicle_name")
@_guarded
def set_vehicle_name(car: Car, call: Call) -> Result:
    name = str(_get(call, "vehicle_name")).strip()
    if not name:
        return False, "invalid_value"
    car.display_name = name
    return OK
