"""Doors, trunks, windows, sun roof, HomeLink, and the security modes (sentry, valet, speed limit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..state import WINDOWS, SpeedLimit
from .base import OK, Call, Result, boolean, command, get, guarded, near, number, pin_param

if TYPE_CHECKING:
    from ...vehicle.car import Car


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
@guarded
def actuate_trunk(car: Car, call: Call) -> Result:
    """front opens the frunk (it cannot be closed remotely); rear opens or closes the liftgate."""
    which = str(get(call, "which_trunk")).lower()
    if which == "front":
        car.closures.open["ft"] = 1
    elif which == "rear":
        car.closures.open["rt"] = 0 if car.closures.open["rt"] else 1
    else:
        return False, "invalid_value"
    return OK


@command("window_control")
@guarded
def window_control(car: Car, call: Call) -> Result:
    """vent opens every window a little; close needs the phone's lat/lon near the car."""
    action = str(get(call, "command")).lower()
    if action == "vent":
        position = 1
    elif action == "close":
        if not near(car, call):
            return False, "too_far_from_vehicle"
        position = 0
    else:
        return False, "invalid_value"
    for window in WINDOWS:
        car.closures.windows[window] = position
    return OK


@command("sun_roof_control")
@guarded
def sun_roof_control(car: Car, call: Call) -> Result:
    if not car.spec.sun_roof:
        return False, "not_supported"
    state = str(get(call, "state")).lower()
    percent = {"vent": 15, "close": 0, "comfort": 80, "open": 100}.get(state)
    if percent is None:
        return False, "invalid_value"
    car.closures.sun_roof_percent_open = percent
    return OK


@command("trigger_homelink")
@guarded
def trigger_homelink(car: Car, call: Call) -> Result:
    if not car.homelink:
        return False, "not_supported"
    if not near(car, call):
        return False, "too_far_from_vehicle"
    if not car.homelink_nearby:
        return False, "homelink_not_nearby"
    return OK


# --- security ---------------------------------------------------------------------------------


@command("set_sentry_mode")
@guarded
def set_sentry_mode(car: Car, call: Call) -> Result:
    car.sentry_mode = boolean(call, "on")
    return OK


@command("set_valet_mode")
@guarded
def set_valet_mode(car: Car, call: Call) -> Result:
    """On needs a 4-digit PIN when none is set (it becomes the PIN); the app turns it off without."""
    valet = car.valet
    if not boolean(call, "on"):
        valet.active = False
        return OK
    if valet.pin is None:
        valet.pin = pin_param(call, "password")
    elif call.params.get("password") is not None and pin_param(call, "password") != valet.pin:
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
@guarded
def speed_limit_set_limit(car: Car, call: Call) -> Result:
    """Only while the mode is inactive; 50-90 mph, checked here as Tesla's server does."""
    limit = number(call, "limit_mph")
    if car.speed_limit.active:
        return False, "speed_limit_active"
    if not SpeedLimit.MIN_MPH <= limit <= SpeedLimit.MAX_MPH:
        return False, "invalid_value"
    car.speed_limit.current_limit_mph = float(limit)
    return OK


@command("speed_limit_activate")
@guarded
def speed_limit_activate(car: Car, call: Call) -> Result:
    """With a PIN set, the PIN must match; with none set, any 4-digit PIN becomes the PIN."""
    pin, mode = pin_param(call), car.speed_limit
    if mode.pin is not None and pin != mode.pin:
        return False, "incorrect_pin"
    if mode.active:
        return False, "already_set"
    mode.pin, mode.active = pin, True
    return OK


@command("speed_limit_deactivate")
@guarded
def speed_limit_deactivate(car: Car, call: Call) -> Result:
    pin, mode = pin_param(call), car.speed_limit
    if not mode.active:
        return False, "not_active"
    if pin != mode.pin:
        return False, "incorrect_pin"
    mode.active = False
    return OK


@command("speed_limit_clear_pin")
@guarded
def speed_limit_clear_pin(car: Car, call: Call) -> Result:
    """Only while inactive, and with the PIN."""
    pin, mode = pin_param(call), car.speed_limit
    if mode.active:
        return False, "speed_limit_active"
    if mode.pin is not None and pin != mode.pin:
        return False, "incorrect_pin"
    mode.pin = None
    return OK
