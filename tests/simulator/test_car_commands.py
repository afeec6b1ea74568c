"""Vehicle commands: every rule and reason, in one table, plus the sequences that need several calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from teslalink.simulator import World
from teslalink.simulator.vehicle import (
    COMMANDS,
    CommandSigningRequired,
    MobileAccessDisabled,
    UnknownCommand,
    VehicleInService,
    VehicleUnavailable,
    render,
)
from teslalink.simulator.vehicle.car import UPDATE_IN_PROGRESS, Car

from .helpers import START

HOME = (37.4925, -121.9447)
FAR = (37.6, -121.9447)  # 12 km north


def make(**options: Any) -> tuple[World, Car]:
    world = World(seed=7, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret")
    return world, world.add_vehicle(account, **options)


def vs(car: Car) -> dict[str, Any]:
    return render.vehicle_state(car, car.now)


def cl(car: Car) -> dict[str, Any]:
    return render.climate_state(car, car.now)


def cs(car: Car) -> dict[str, Any]:
    return render.charge_state(car, car.now)


def _user(car: Car) -> None:
    car.user_present = True


def _pin_set(car: Car) -> None:
    car.command("speed_limit_activate", {"pin": "1234"})
    car.command("speed_limit_deactivate", {"pin": "1234"})


def _limit_active(car: Car) -> None:
    car.command("speed_limit_activate", {"pin": "1234"})


def _plugged(car: Car) -> None:
    car.plug_into(car.world.add_wall_connector())


def _update_available(car: Car) -> None:
    car.offer_update("2026.44.1", download_s=0)


def _valet_pin(car: Car) -> None:
    car.command("set_valet_mode", {"on": True, "password": "4321"})
    car.command("set_valet_mode", {"on": False})


OK = (True, "")
BAD = (False, "invalid_value")
Setup = Callable[[Car], None] | None
Check = Callable[[Car], bool] | None

# (id, setup, command, params, expected (result, reason), check after)
TABLE: list[tuple[str, Setup, str, dict[str, Any], tuple[bool, str], Check]] = [
    ("unlock", None, "door_unlock", {}, OK, lambda c: vs(c)["locked"] is False),
    ("lock", None, "door_lock", {}, OK, lambda c: vs(c)["locked"] is True),
    ("honk", None, "honk_horn", {}, OK, None),
    ("flash", None, "flash_lights", {}, OK, None),
    ("climate on", None, "auto_conditioning_start", {}, OK, lambda c: cl(c)["is_climate_on"] is True),
    ("climate off", None, "auto_conditioning_stop", {}, OK, lambda c: cl(c)["is_climate_on"] is False),
    ("defrost", None, "set_preconditioning_max", {"on": True}, OK, lambda c: cl(c)["defrost_mode"] == 2),
    ("defrost bad", None, "set_preconditioning_max", {"on": "maybe"}, BAD, None),
    ("temps", None, "set_temps", {"driver_temp": 22.5, "passenger_temp": 20}, OK,
     lambda c: cl(c)["driver_temp_setting"] == 22.5 and cl(c)["passenger_temp_setting"] == 20.0),
    ("temps low", None, "set_temps", {"driver_temp": 14.5}, BAD, None),
    ("temps high", None, "set_temps", {"driver_temp": 21, "passenger_temp": 28.5}, BAD, None),
    ("temps edge", None, "set_temps", {"driver_temp": 15, "passenger_temp": 28}, OK, None),
    ("temps missing", None, "set_temps", {}, BAD, None),
    ("dog mode", None, "set_climate_keeper_mode", {"climate_keeper_mode": 2}, OK,
     lambda c: cl(c)["climate_keeper_mode"] == "dog" and cl(c)["is_climate_on"] is True),
    ("keeper bad", None, "set_climate_keeper_mode", {"climate_keeper_mode": 4}, BAD, None),
    ("cop fan", None, "set_cabin_overheat_protection", {"on": True, "fan_only": True}, OK,
     lambda c: cl(c)["cabin_overheat_protection"] == "FanOnly"),
    ("seat heater", None, "remote_seat_heater_request", {"heater": 1, "level": 3}, OK,
     lambda c: cl(c)["seat_heater_right"] == 3),
    ("seat rear center", None, "remote_seat_heater_request", {"heater": 4, "level": 2}, OK,
     lambda c: cl(c)["seat_heater_rear_center"] == 2),
    ("seat bad heater", None, "remote_seat_heater_request", {"heater": 6, "level": 1}, BAD, None),
    ("seat bad level", None, "remote_seat_heater_request", {"heater": 0, "level": 4}, BAD, None),
    ("wheel heater", None, "remote_steering_wheel_heater_request", {"on": "true"}, OK,
     lambda c: cl(c)["steering_wheel_heater"] is True),
    ("limit 50", None, "set_charge_limit", {"percent": 50}, OK, lambda c: cs(c)["charge_limit_soc"] == 50),
    ("limit 100", None, "set_charge_limit", {"percent": "100"}, OK,
     lambda c: cs(c)["charge_to_max_range"] is True),
    ("limit 49", None, "set_charge_limit", {"percent": 49}, BAD,
     lambda c: cs(c)["charge_limit_soc"] == 80),
    ("limit 101", None, "set_charge_limit", {"percent": 101}, BAD, None),
    ("limit same", None, "set_charge_limit", {"percent": 80}, (False, "already_set"), None),
    ("limit text", None, "set_charge_limit", {"percent": "lots"}, BAD, None),
    ("max range", None, "charge_max_range", {}, OK, lambda c: cs(c)["charge_limit_soc"] == 100),
    ("standard", None, "charge_standard", {}, OK, lambda c: cs(c)["charge_limit_soc"] == 90),
    ("amps 16", None, "set_charging_amps", {"charging_amps": 16}, OK,
     lambda c: cs(c)["charge_current_request"] == 16),
    ("amps 0", None, "set_charging_amps", {"charging_amps": 0}, OK,
     lambda c: cs(c)["charge_current_request"] == 2),
    ("amps 1", None, "set_charging_amps", {"charging_amps": 1}, OK,
     lambda c: cs(c)["charge_current_request"] == 2),
    ("amps 2", None, "set_charging_amps", {"charging_amps": 2}, OK,
     lambda c: cs(c)["charge_current_request"] == 3),
    ("amps 3", None, "set_charging_amps", {"charging_amps": 3}, OK,
     lambda c: cs(c)["charge_current_request"] == 3),
    ("amps 5", None, "set_charging_amps", {"charging_amps": 5}, OK,
     lambda c: cs(c)["charge_current_request"] == 5),
    ("amps 48 on 32", None, "set_charging_amps", {"charging_amps": 48}, OK,
     lambda c: cs(c)["charge_current_request"] == 32),
    ("amps negative", None, "set_charging_amps", {"charging_amps": -1}, BAD, None),
    ("start unplugged", None, "charge_start", {}, (False, "disconnected"), None),
    ("stop unplugged", None, "charge_stop", {}, (False, "not_charging"), None),
    ("start charging", _plugged, "charge_start", {}, (False, "is_charging"), None),
    ("stop charging", _plugged, "charge_stop", {}, OK, lambda c: cs(c)["charging_state"] == "Stopped"),
    ("port open", None, "charge_port_door_open", {}, OK, lambda c: cs(c)["charge_port_door_open"] is True),
    ("port close", None, "charge_port_door_close", {}, OK, lambda c: cs(c)["charge_port_door_open"] is False),
    ("port close plugged", _plugged, "charge_port_door_close", {}, (False, "cable_connected"), None),
    ("schedule", None, "set_scheduled_charging", {"enable": True, "time": 420}, OK,
     lambda c: cs(c)["scheduled_charging_mode"] == "StartAt"
     and cs(c)["scheduled_charging_start_time_app"] == 420),
    ("schedule bad", None, "set_scheduled_charging", {"enable": True, "time": 1440}, BAD, None),
    ("schedule off", None, "set_scheduled_charging", {"enable": False}, OK,
     lambda c: cs(c)["scheduled_charging_mode"] == "Off"),
    ("departure", None, "set_scheduled_departure",
     {"enable": True, "departure_time": 450, "preconditioning_enabled": True}, OK,
     lambda c: cs(c)["scheduled_charging_mode"] == "DepartBy" and cs(c)["preconditioning_enabled"] is True),
    ("sunroof model 3", None, "sun_roof_control", {"state": "vent"}, (False, "not_supported"), None),
    ("vent", None, "window_control", {"command": "vent", "lat": 0, "lon": 0}, OK,
     lambda c: vs(c)["fd_window"] == 1 and vs(c)["rp_window"] == 1),
    ("close near", None, "window_control", {"command": "close", "lat": HOME[0], "lon": HOME[1]}, OK,
     lambda c: vs(c)["fd_window"] == 0),
    ("close far", None, "window_control", {"command": "close", "lat": FAR[0], "lon": FAR[1]},
     (False, "too_far_from_vehicle"), None),
    ("close no position", None, "window_control", {"command": "close"}, BAD, None),
    ("window bad", None, "window_control", {"command": "open", "lat": 0, "lon": 0}, BAD, None),
    ("frunk", None, "actuate_trunk", {"which_trunk": "front"}, OK, lambda c: vs(c)["ft"] == 1),
    ("trunk", None, "actuate_trunk", {"which_trunk": "rear"}, OK, lambda c: vs(c)["rt"] == 1),
    ("trunk bad", None, "actuate_trunk", {"which_trunk": "side"}, BAD, None),
    ("remote start", None, "remote_start_drive", {}, OK, lambda c: vs(c)["remote_start"] is True),
    ("remote start password", None, "remote_start_drive", {"password": "secret"}, OK, None),
    ("remote start wrong", None, "remote_start_drive", {"password": "nope"},
     (False, "invalid_password"), None),
    ("homelink", None, "trigger_homelink", {"lat": HOME[0], "lon": HOME[1]}, OK, None),
    ("homelink far", None, "trigger_homelink", {"lat": FAR[0], "lon": FAR[1]},
     (False, "too_far_from_vehicle"), None),
    ("sentry", None, "set_sentry_mode", {"on": True}, OK, lambda c: vs(c)["sentry_mode"] is True),
    ("valet on", None, "set_valet_mode", {"on": True, "password": "1234"}, OK,
     lambda c: vs(c)["valet_mode"] is True and vs(c)["valet_pin_needed"] is False),
    ("valet no pin", None, "set_valet_mode", {"on": True}, BAD, None),
    ("valet short pin", None, "set_valet_mode", {"on": True, "password": "123"}, BAD, None),
    ("valet wrong pin", _valet_pin, "set_valet_mode", {"on": True, "password": "1111"},
     (False, "incorrect_pin"), None),
    ("valet set pin", _valet_pin, "set_valet_mode", {"on": True}, OK, None),
    ("valet off", None, "set_valet_mode", {"on": False}, OK, lambda c: vs(c)["valet_mode"] is False),
    ("valet reset", _valet_pin, "reset_valet_pin", {}, OK, lambda c: vs(c)["valet_pin_needed"] is True),
    ("update none", None, "schedule_software_update", {"offset_sec": 60},
     (False, "no_update_available"), None),
    ("update", _update_available, "schedule_software_update", {"offset_sec": 60}, OK,
     lambda c: vs(c)["software_update"]["status"] == "scheduled"),
    ("cancel none", None, "cancel_software_update", {}, (False, "no_update_scheduled"), None),
    ("media absent", None, "media_toggle_playback", {}, (False, "user_not_present"), None),
    ("media present", _user, "media_toggle_playback", {}, OK,
     lambda c: vs(c)["media_info"]["media_playback_status"] == "Playing"),
    ("next absent", None, "media_next_track", {}, (False, "user_not_present"), None),
    ("next", _user, "media_next_track", {}, OK, None),
    ("prev", _user, "media_prev_track", {}, OK, None),
    ("next fav", _user, "media_next_fav", {}, OK, None),
    ("prev fav", _user, "media_prev_fav", {}, OK, None),
    ("volume up absent", None, "media_volume_up", {}, (False, "user_not_present"), None),
    ("volume up", _user, "media_volume_up", {}, OK,
     lambda c: vs(c)["media_info"]["audio_volume"] > 3.0),
    ("volume down", _user, "media_volume_down", {}, OK,
     lambda c: vs(c)["media_info"]["audio_volume"] < 3.0),
    ("limit set", None, "speed_limit_set_limit", {"limit_mph": 65}, OK,
     lambda c: vs(c)["speed_limit_mode"]["current_limit_mph"] == 65.0),
    ("limit set 49", None, "speed_limit_set_limit", {"limit_mph": 49}, BAD, None),
    ("limit set 91", None, "speed_limit_set_limit", {"limit_mph": 91}, BAD, None),
    ("limit set active", _limit_active, "speed_limit_set_limit", {"limit_mph": 70},
     (False, "speed_limit_active"), None),
    ("activate new pin", None, "speed_limit_activate", {"pin": "1234"}, OK,
     lambda c: vs(c)["speed_limit_mode"]["active"] and vs(c)["speed_limit_mode"]["pin_code_set"]),
    ("activate 3 digits", None, "speed_limit_activate", {"pin": "123"}, BAD, None),
    ("activate wrong", _pin_set, "speed_limit_activate", {"pin": "9999"}, (False, "incorrect_pin"), None),
    ("activate right", _pin_set, "speed_limit_activate", {"pin": "1234"}, OK, None),
    ("deactivate inactive", None, "speed_limit_deactivate", {"pin": "1234"}, (False, "not_active"), None),
    ("deactivate wrong", _limit_active, "speed_limit_deactivate", {"pin": "4321"},
     (False, "incorrect_pin"), None),
    ("deactivate", _limit_active, "speed_limit_deactivate", {"pin": "1234"}, OK,
     lambda c: vs(c)["speed_limit_mode"]["active"] is False),
    ("clear active", _limit_active, "speed_limit_clear_pin", {"pin": "1234"},
     (False, "speed_limit_active"), None),
    ("clear wrong", _pin_set, "speed_limit_clear_pin", {"pin": "0000"}, (False, "incorrect_pin"), None),
    ("clear", _pin_set, "speed_limit_clear_pin", {"pin": "1234"}, OK,
     lambda c: vs(c)["speed_limit_mode"]["pin_code_set"] is False),
    ("navigate", None, "navigation_request",
     {"type": "share_ext_content_raw", "value": {"android.intent.extra.TEXT": "1 Tesla Rd, Austin"},
      "locale": "en-US", "timestamp_ms": 0}, OK,
     lambda c: render.drive_state(c, c.now)["active_route_destination"] == "1 Tesla Rd, Austin"),
    ("navigate empty", None, "navigation_request", {"value": ""}, BAD, None),
    ("rename", None, "set_vehicle_name", {"vehicle_name": "Zippy"}, OK,
     lambda c: vs(c)["vehicle_name"] == "Zippy" and c.summary()["display_name"] == "Zippy"),
]  # fmt: skip


@pytest.mark.parametrize(("setup", "name", "params", "expected", "check"), [t[1:] for t in TABLE],
                         ids=[t[0] for t in TABLE])  # fmt: skip
def test_command_rules(
    setup: Setup, name: str, params: dict[str, Any], expected: tuple[bool, str], check: Check
) -> None:
    _world, car = make()
    if setup is not None:
        setup(car)
    assert car.command(name, params) == expected
    if check is not None:
        assert check(car)


def test_every_registered_command_is_in_the_table() -> None:
    tested = {t[2] for t in TABLE}
    untested = set(COMMANDS) - tested - {"remote_boombox", "adjust_volume", "set_bioweapon_mode", "share"}
    assert not untested


def test_speed_limit_pin_sequence() -> None:
    _world, car = make()
    mode = lambda: vs(car)["speed_limit_mode"]  # noqa: E731
    assert mode() == {"active": False, "current_limit_mph": 85.0, "max_limit_mph": 90, "min_limit_mph": 50,
                      "pin_code_set": False}  # fmt: skip
    assert car.command("speed_limit_set_limit", {"limit_mph": 70}) == (True, "")
    assert car.command("speed_limit_activate", {"pin": "2468"}) == (True, "")  # any PIN becomes the PIN
    assert mode()["active"] is True
    assert mode()["pin_code_set"] is True
    assert car.command("speed_limit_set_limit", {"limit_mph": 75}) == (False, "speed_limit_active")
    assert car.command("speed_limit_clear_pin", {"pin": "2468"}) == (False, "speed_limit_active")
    assert car.command("speed_limit_deactivate", {"pin": "1357"}) == (False, "incorrect_pin")
    assert car.command("speed_limit_deactivate", {"pin": "2468"}) == (True, "")
    assert car.command("speed_limit_activate", {"pin": "1357"}) == (False, "incorrect_pin")  # the PIN stays
    assert car.command("speed_limit_set_limit", {"limit_mph": 75}) == (True, "")
    assert car.command("speed_limit_clear_pin", {"pin": "2468"}) == (True, "")
    assert mode()["pin_code_set"] is False
    assert car.command("speed_limit_activate", {"pin": "1357"}) == (True, "")  # a new PIN after clearing
    assert mode() == {"active": True, "current_limit_mph": 75.0, "max_limit_mph": 90, "min_limit_mph": 50,
                      "pin_code_set": True}  # fmt: skip


def test_the_pin_never_shows() -> None:
    _world, car = make()
    car.command("speed_limit_activate", {"pin": "2468"})
    car.command("set_valet_mode", {"on": True, "password": "1357"})
    text = repr(car.speed_limit) + repr(car.valet) + repr(car.vehicle_data())
    assert "2468" not in text
    assert "1357" not in text


def test_sunroof_on_a_model_s() -> None:
    _world, car = make(model="S")
    assert car.command("sun_roof_control", {"state": "vent"}) == (True, "")
    assert vs(car)["sun_roof_state"] == "vent"
    assert car.command("sun_roof_control", {"state": "close"}) == (True, "")
    assert vs(car)["sun_roof_percent_open"] == 0
    assert car.command("sun_roof_control", {"state": "sideways"}) == (False, "invalid_value")


def test_homelink_needs_the_device_nearby() -> None:
    world, car = make()
    car.drive([FAR])
    world.advance(3600)
    assert vs(car)["homelink_nearby"] is False
    car.wake_up()
    world.advance(30)
    assert car.command("trigger_homelink", {"lat": FAR[0], "lon": FAR[1]}) == (False, "homelink_not_nearby")


def test_window_close_follows_the_car() -> None:
    world, car = make()
    car.drive([FAR])
    world.advance(1200)
    car.touch()
    assert car.command("window_control", {"command": "close", "lat": HOME[0], "lon": HOME[1]}) == (
        False,
        "too_far_from_vehicle",
    )
    assert car.command("window_control", {"command": "close", "lat": FAR[0], "lon": FAR[1]}) == (True, "")


def test_schedule_update_answers_the_schedule() -> None:
    world, car = make()
    car.offer_update("2026.44.1", download_s=0)
    response = car.command_response("schedule_software_update", {"offset_sec": 600})
    assert response == {
        "result": True,
        "reason": "",
        "expected_duration_sec": car.software.expected_duration_s,
        "scheduled_time_ms": int((world.now() + 600) * 1000),
        "status": "scheduled",
        "warning_time_remaining_ms": 120_000,
    }


# --- what the car refuses before judging --------------------------------------------------------


def test_unknown_command() -> None:
    _world, car = make()
    with pytest.raises(UnknownCommand) as info:
        car.command("make_coffee")
    assert info.value.status == 404
    assert info.value.name == "make_coffee"


def test_in_service_refuses_commands() -> None:
    _world, car = make()
    car.enter_service()
    assert car.summary()["in_service"] is True
    assert car.service_data()["service_status"] == "in_service"
    with pytest.raises(VehicleInService) as info:
        car.command("honk_horn")
    assert info.value.status == 405
    car.leave_service()
    assert car.command("honk_horn") == (True, "")
    assert car.service_data() == {"service_status": "not_in_service"}


def test_signed_commands_required() -> None:
    _world, car = make(signed_commands_required=True)
    with pytest.raises(CommandSigningRequired) as info:
        car.command("door_unlock")
    assert info.value.status == 403
    assert car.vehicle_data()["state"] == "online"  # reading still works


def test_mobile_access_disabled() -> None:
    _world, car = make()
    car.account.mobile_access = False
    assert car.mobile_enabled() is False
    with pytest.raises(MobileAccessDisabled):
        car.command("honk_horn")
    with pytest.raises(MobileAccessDisabled):
        car.vehicle_data()


def test_asleep_refuses_with_408() -> None:
    _world, car = make(asleep=True)
    with pytest.raises(VehicleUnavailable) as info:
        car.command("honk_horn")
    assert info.value.status == 408


def test_commands_fail_while_an_update_installs() -> None:
    world, car = make()
    car.offer_update("2026.44.1", download_s=0)
    car.command("schedule_software_update", {"offset_sec": 0})
    world.advance(1)
    assert car.is_updating
    assert car.command("door_unlock") == (False, UPDATE_IN_PROGRESS)
    assert car.command("cancel_software_update") == (False, UPDATE_IN_PROGRESS)
