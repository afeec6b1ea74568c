"""Climate: on/off, temperatures, defrost, keeper modes, overheat protection, seat and wheel heaters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..climate import MAX_TEMP_C, MIN_TEMP_C
from .base import OK, Call, Result, boolean, command, guarded, integer, number

if TYPE_CHECKING:
    from ...vehicle.car import Car


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
@guarded
def set_preconditioning_max(car: Car, call: Call) -> Result:
    """Max defrost: climate on at full heat with both defrosters; off returns to normal climate."""
    on = boolean(call, "on")
    if on:
        car._set_climate(call.t, True)
    car.climate.defrost = on
    return OK


@command("set_temps")
@guarded
def set_temps(car: Car, call: Call) -> Result:
    driver = number(call, "driver_temp")
    passenger = number(call, "passenger_temp") if call.params.get("passenger_temp") is not None else driver
    if not (MIN_TEMP_C <= driver <= MAX_TEMP_C and MIN_TEMP_C <= passenger <= MAX_TEMP_C):
        return False, "invalid_value"
    car.climate.driver_c, car.climate.passenger_c = float(driver), float(passenger)
    return OK


@command("set_climate_keeper_mode")
@guarded
def set_climate_keeper_mode(car: Car, call: Call) -> Result:
    """0 off, 1 keep (on), 2 dog, 3 camp: any but off keeps climate on and the car awake."""
    modes = ("off", "on", "dog", "camp")
    mode = integer(call, "climate_keeper_mode")
    if not 0 <= mode < len(modes):
        return False, "invalid_value"
    if mode:
        car._set_climate(call.t, True)
        car.climate.keeper_mode = modes[mode]
    else:
        car.climate.keeper_mode = "off"
    return OK


@command("set_cabin_overheat_protection")
@guarded
def set_cabin_overheat_protection(car: Car, call: Call) -> Result:
    on, fan_only = boolean(call, "on"), boolean(call, "fan_only", default=False)
    car.climate.cabin_overheat_protection = ("FanOnly" if fan_only else "On") if on else "Off"
    return OK


@command("set_bioweapon_mode")
@guarded
def set_bioweapon_mode(car: Car, call: Call) -> Result:
    car.climate.bioweapon_mode = boolean(call, "on")
    return OK


@command("remote_seat_heater_request")
@guarded
def remote_seat_heater_request(car: Car, call: Call) -> Result:
    """heater 0 driver, 1 passenger, 2 rear left, 3 rear left back, 4 rear center, 5 rear right."""
    heater, level = integer(call, "heater"), integer(call, "level")
    if not (0 <= heater <= 5 and 0 <= level <= 3):
        return False, "invalid_value"
    car.climate.seat_heaters[heater] = level
    return OK


@command("remote_steering_wheel_heater_request")
@guarded
def remote_steering_wheel_heater_request(car: Car, call: Call) -> Result:
    car.climate.steering_wheel_heater = boolean(call, "on")
    return OK
