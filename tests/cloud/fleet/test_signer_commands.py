"""Every command Vehicle sends, signed over the served twin, changes the car as the REST command does.

Two worlds from one seed: in one the command travels signed (VcpSigner -> the Fleet API's
signed_command -> the car's verifier -> its decoder), in the other the REST twin runs the REST
command with the same parameters. After each, the car must be where the table says, and the two
cars' whole vehicle_data must agree, as must the answers {"result", "reason"}.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from signer_twin import demo_world, served

import teslalink.cloud.vehicle
from teslalink.cloud.endpoints import endpoint
from teslalink.cloud.fleet.signer import VcpSigner
from teslalink.cloud.vcp import actions
from teslalink.simulator.vehicle.car import Car

Setup = Callable[[Car], None]


def run(*steps: tuple[str, dict[str, Any]]) -> Setup:
    """Bring the car into a state first, with REST commands (the same on both cars)."""

    def setup(car: Car) -> None:
        for name, params in steps:
            assert car.command_response(name, params, signed=True)["result"], name

    return setup


def in_car(car: Car) -> None:
    car.user_present = True


def update_offered(car: Car) -> None:
    car.offer_update("2026.50.1", download_s=0.0)


def update_scheduled(car: Car) -> None:
    update_offered(car)
    run(("schedule_software_update", {"offset_sec": 3600}))(car)


def near(car: Car) -> dict[str, float]:
    lat, lon = car.location
    return {"lat": lat, "lon": lon}


def sun_roof(car: Car) -> int:
    return car.closures.sun_roof_percent_open


def windows(car: Car) -> set[int]:
    return set(car.closures.windows.values())


def amps(car: Car) -> int:
    return int(car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"])


def limit(car: Car) -> int:
    return car.charge_limit_soc


def wheel_heater(car: Car) -> bool:
    return car.climate.steering_wheel_heater


VALET_ON = run(("set_valet_mode", {"on": True, "password": "4321"}))


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, Any]
    probe: Callable[[Car], Any]
    expected: Any
    setup: Setup = field(default=lambda car: None)
    model: str = "3"  # demo1's charging Model 3; "S" is its second car (sun roof, unplugged)
    here: bool = False  # add the car's own lat/lon to the parameters (the REST call needs them)


CASES = [
    Case("UNLOCK", {}, lambda c: c.closures.locked, False),
    Case("LOCK", {}, lambda c: c.closures.locked, True, setup=run(("door_unlock", {}))),
    Case("REMOTE_START", {"password": None}, lambda c: c.remote_start, True),  # signed: no password
    Case("ACTUATE_TRUNK", {"which_trunk": "front"}, lambda c: c.closures.open["ft"], 1),
    Case("ACTUATE_TRUNK", {"which_trunk": "rear"}, lambda c: c.closures.open["rt"], 1),
    Case("HONK_HORN", {}, lambda c: c.closures.locked, True),
    Case("FLASH_LIGHTS", {}, lambda c: c.closures.locked, True),
    Case("CHANGE_SUNROOF_STATE", {"state": "comfort"}, sun_roof, 80, model="S"),
    Case("CHANGE_SUNROOF_STATE", {"state": "vent"}, sun_roof, 15, model="S"),
    Case("CHANGE_SUNROOF_STATE", {"state": "open"}, sun_roof, 100, model="S"),
    Case("CHANGE_SUNROOF_STATE", {"state": "close"}, sun_roof, 0, model="S",
         setup=run(("sun_roof_control", {"state": "open"}))),
    Case("WINDOW_CONTROL", {"command": "vent", "lat": 0, "lon": 0}, windows, {1}),
    Case("WINDOW_CONTROL", {"command": "close"}, windows, {0}, here=True,
         setup=run(("window_control", {"command": "vent"}))),
    Case("TRIGGER_HOMELINK", {}, lambda c: c.homelink_nearby, True, here=True),
    Case("SET_SENTRY_MODE", {"on": True}, lambda c: c.sentry_mode, True),
    Case("SET_VALET_MODE", {"on": True, "password": "4321"}, lambda c: c.valet.active, True),
    Case("SET_VALET_MODE", {"on": False, "password": None}, lambda c: c.valet.active, False,
         setup=VALET_ON),
    Case("RESET_VALET_PIN", {}, lambda c: c.valet.pin, None, setup=VALET_ON),
    Case("SPEED_LIMIT_SET_LIMIT", {"limit_mph": 65}, lambda c: c.speed_limit.current_limit_mph, 65.0),
    Case("SPEED_LIMIT_ACTIVATE", {"pin": "1234"}, lambda c: c.speed_limit.active, True),
    Case("SPEED_LIMIT_DEACTIVATE", {"pin": "1234"}, lambda c: c.speed_limit.active, False,
         setup=run(("speed_limit_activate", {"pin": "1234"}))),
    Case("SPEED_LIMIT_CLEAR_PIN", {"pin": "1234"}, lambda c: c.speed_limit.pin, None,
         setup=run(("speed_limit_activate", {"pin": "1234"}), ("speed_limit_deactivate", {"pin": "1234"}))),
    Case("CLIMATE_ON", {}, lambda c: c.climate.on, True),
    Case("CLIMATE_OFF", {}, lambda c: c.climate.on, False, setup=run(("auto_conditioning_start", {}))),
    Case("MAX_DEFROST", {"on": True}, lambda c: (c.climate.on, c.climate.defrost), (True, True)),
    Case("CHANGE_CLIMATE_TEMPERATURE_SETTING", {"driver_temp": 23.5, "passenger_temp": 19.0},
         lambda c: (c.climate.driver_c, c.climate.passenger_c), (23.5, 19.0)),
    Case("SET_CLIMATE_KEEPER_MODE", {"climate_keeper_mode": 2}, lambda c: c.climate.keeper_mode, "dog"),
    Case("SET_CABIN_OVERHEAT_PROTECTION", {"on": True, "fan_only": True},
         lambda c: c.climate.cabin_overheat_protection, "FanOnly"),
    Case("HVAC_BIOWEAPON_MODE", {"on": True}, lambda c: c.climate.bioweapon_mode, True),
    Case("REMOTE_SEAT_HEATER_REQUEST", {"heater": 4, "level": 2}, lambda c: c.climate.seat_heaters[4], 2),
    Case("REMOTE_STEERING_WHEEL_HEATER_REQUEST", {"on": True}, wheel_heater, True),
    Case("CHANGE_CHARGE_LIMIT", {"percent": 90}, limit, 90),
    Case("CHANGE_CHARGE_MAX", {}, limit, 100),
    Case("CHANGE_CHARGE_STANDARD", {}, limit, 90, setup=run(("set_charge_limit", {"percent": 60}))),
    Case("CHARGING_AMPS", {"charging_amps": 12}, amps, 12),
    Case("START_CHARGE", {}, lambda c: c.charging_state, "Starting", setup=run(("charge_stop", {}))),
    Case("STOP_CHARGE", {}, lambda c: c.charging_state, "Stopped"),
    Case("CHARGE_PORT_DOOR_OPEN", {}, lambda c: c.port.door_open, True, model="S"),
    Case("CHARGE_PORT_DOOR_CLOSE", {}, lambda c: c.port.door_open, False, model="S",
         setup=run(("charge_port_door_open", {}))),
    Case("SCHEDULED_CHARGING", {"enable": True, "time": 120},
         lambda c: (c.port.scheduled_enabled, c.port.scheduled_minutes), (True, 120)),
    Case("SCHEDULED_DEPARTURE",
         {"enable": True, "departure_time": 450, "preconditioning_enabled": True,
          "preconditioning_weekdays_only": True, "off_peak_charging_enabled": True,
          "off_peak_charging_weekdays_only": False, "end_off_peak_time": 400},
         lambda c: (c.port.departure.enabled, c.port.departure.departure_minutes,
                    c.port.departure.preconditioning_weekdays_only, c.port.departure.end_off_peak_minutes),
         (True, 450, True, 400)),
    Case("SCHEDULE_SOFTWARE_UPDATE", {"offset_sec": 900}, lambda c: c.software.status, "scheduled",
         setup=update_offered),
    Case("CANCEL_SOFTWARE_UPDATE", {}, lambda c: c.software.status, "available", setup=update_scheduled),
    Case("MEDIA_TOGGLE_PLAYBACK", {}, lambda c: c.media.playing, True, setup=in_car),
    Case("MEDIA_NEXT_TRACK", {}, lambda c: c.media.track, 1, setup=in_car),
    Case("MEDIA_PREVIOUS_TRACK", {}, lambda c: c.media.track, 3, setup=in_car),
    Case("MEDIA_NEXT_FAVORITE", {}, lambda c: c.media.favorite, 1, setup=in_car),
    Case("MEDIA_PREVIOUS_FAVORITE", {}, lambda c: c.media.favorite, 2, setup=in_car),
    Case("MEDIA_VOLUME_UP", {}, lambda c: round(c.media.volume, 3), 3.333, setup=in_car),
    Case("MEDIA_VOLUME_DOWN", {}, lambda c: round(c.media.volume, 3), 2.667, setup=in_car),
    Case("ADJUST_VOLUME", {"volume": 5.5}, lambda c: c.media.volume, 5.5, setup=in_car),
    Case("SET_VEHICLE_NAME", {"vehicle_name": "Signed Sedan"}, lambda c: c.display_name, "Signed Sedan"),
]  # fmt: skip


def _id(case: Case) -> str:
    return "-".join([case.name, *(str(v) for v in case.params.values() if isinstance(v, str))])


def _rest_name(name: str) -> str:
    return endpoint(name).path.rsplit("/", 1)[-1]


def test_the_table_covers_every_command_vehicle_sends_and_every_action() -> None:
    source = Path(teslalink.cloud.vehicle.__file__).read_text()
    sent = set(re.findall(r'self\.command\(\s*"([A-Z_]+)"', source))
    assert len(sent) > 40
    assert sent <= set(actions.ACTIONS), sent - set(actions.ACTIONS)
    assert {case.name for case in CASES} == set(actions.ACTIONS)


@pytest.mark.parametrize("case", CASES, ids=_id)
async def test_a_signed_command_changes_the_car_as_the_rest_command_does(case: Case) -> None:
    rest_world, signed_world = demo_world(), demo_world()
    async with served(signed_world) as twin:
        signed_car = twin.car(1, case.model)
        rest_car = next(car for car in rest_world.vehicles if car.vin == signed_car.vin)
        for car in (rest_car, signed_car):
            case.setup(car)
        params = {**case.params, **(near(signed_car) if case.here else {})}
        signer = VcpSigner(twin.paired_key(signed_car), app_domain="app.teslalink.test")
        statuses: list[int] = []

        answer = await twin.send(signer, signed_car, case.name, params, statuses=statuses)
        rest_answer = rest_car.command_response(_rest_name(case.name), params, signed=True)

        assert answer == {"result": True, "reason": ""}
        assert {k: rest_answer[k] for k in ("result", "reason")} == answer
        assert case.probe(signed_car) == case.expected
        assert signed_car.vehicle_data() == rest_car.vehicle_data()
        assert statuses == [200, 200]  # the handshake, the command: each a billed POST


async def test_a_refusal_is_the_rest_commands_refusal() -> None:
    world = demo_world()
    async with served(world) as twin:
        car = twin.car(1, "3")
        signer = VcpSigner(twin.paired_key(car), app_domain="app.teslalink.test")
        assert await twin.send(signer, car, "CHANGE_CHARGE_LIMIT", {"percent": car.charge_limit_soc}) == {
            "result": False,
            "reason": "already_set",
        }
        # the media need someone in the car, over either path
        assert car.command_response("media_next_track", {}, signed=True)["reason"] == "user_not_present"
        assert await twin.send(signer, car, "MEDIA_NEXT_TRACK") == {
            "result": False,
            "reason": "user_not_present",
        }
