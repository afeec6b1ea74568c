"""Charging: limit, amps, start/stop, the port door, schedules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..battery import CHARGE_LIMIT_MAX, CHARGE_LIMIT_MIN, CHARGE_LIMIT_STD
from .base import OK, Call, Result, boolean, command, guarded, integer, number

if TYPE_CHECKING:
    from ...vehicle.car import Car


# --- charging ---------------------------------------------------------------------------------


def _set_limit(car: Car, call: Call, percent: int) -> Result:
    if not CHARGE_LIMIT_MIN <= percent <= CHARGE_LIMIT_MAX:
        return False, "invalid_value"
    if percent == car.battery.limit_soc:
        return False, "already_set"
    car.port.set_limit(percent, call.t)
    return OK


@command("set_charge_limit")
@guarded
def set_charge_limit(car: Car, call: Call) -> Result:
    """50-100 %; the current value answers already_set."""
    return _set_limit(car, call, integer(call, "percent"))


@command("charge_max_range")
def charge_max_range(car: Car, call: Call) -> Result:
    return _set_limit(car, call, CHARGE_LIMIT_MAX)


@command("charge_standard")
def charge_standard(car: Car, call: Call) -> Result:
    return _set_limit(car, call, CHARGE_LIMIT_STD)


@command("set_charging_amps")
@guarded
def set_charging_amps(car: Car, call: Call) -> Result:
    """0-1 A give 2 A, 2-3 A give 3 A, above the charger's maximum gives the maximum."""
    amps = number(call, "charging_amps")
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
@guarded
def set_scheduled_charging(car: Car, call: Call) -> Result:
    """enable + time (minutes after local midnight): a plugged-in car waits for that time."""
    enable = boolean(call, "enable")
    port = car.port
    if enable:
        minutes = integer(call, "time")
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
@guarded
def set_scheduled_departure(car: Car, call: Call) -> Result:
    """Stores the departure settings the API shows (no preconditioning or off-peak logic runs)."""
    dep = car.port.departure
    dep.enabled = boolean(call, "enable")
    if call.params.get("departure_time") is not None:
        dep.departure_minutes = integer(call, "departure_time")
    dep.preconditioning_enabled = boolean(
        call, "preconditioning_enabled", default=dep.preconditioning_enabled
    )
    dep.preconditioning_weekdays_only = boolean(
        call, "preconditioning_weekdays_only", default=dep.preconditioning_weekdays_only
    )
    dep.off_peak_charging_enabled = boolean(
        call, "off_peak_charging_enabled", default=dep.off_peak_charging_enabled
    )
    dep.off_peak_charging_weekdays_only = boolean(
        call, "off_peak_charging_weekdays_only", default=dep.off_peak_charging_weekdays_only
    )
    if call.params.get("end_off_peak_time") is not None:
        dep.end_off_peak_minutes = integer(call, "end_off_peak_time")
    return OK
