"""What the API shows of a car: fixture shape and types, blocks and location, identity, climate,
software updates, the small endpoints, determinism."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from teslalink.simulator import World
from teslalink.simulator.vehicle import BLOCKS, render
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import vin_check_digit, year_code

from .helpers import START

FIXTURE = Path(__file__).parent.parent / "fixtures" / "owner_api" / "vehicle_data_model3_charging_fast.json"
ALL = ["charge_state", "climate_state", "drive_state", "gui_settings", "location_data", "vehicle_config",
       "vehicle_state"]  # fmt: skip
LOCATION_KEYS = {"latitude", "longitude", "heading", "native_latitude", "native_longitude", "native_type",
                 "native_location_supported", "gps_as_of"}  # fmt: skip


def make(seed: int = 7, **options: Any) -> tuple[World, Car]:
    world = World(seed=seed, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret")
    return world, world.add_vehicle(account, **options)


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def json_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}.get(
        type(value), "null"
    )


def type_mismatches(fixture: dict[str, Any], ours: dict[str, Any], where: str = "") -> list[str]:
    problems = []
    for key, value in fixture.items():
        path = f"{where}.{key}" if where else key
        if key not in ours:
            problems.append(f"missing {path}")
        elif isinstance(value, dict):
            problems += type_mismatches(value, ours[key], path)
        elif json_type(value) != json_type(ours[key]):
            problems.append(
                f"{path}: fixture {json_type(value)} {value!r}, ours {json_type(ours[key])} {ours[key]!r}"
            )
    return problems


def fast_charging_car() -> Car:
    """The fixture's situation: a European Model 3 on a DC fast charger, someone inside, climate on."""
    world, car = make(model="3", eu_vehicle=True, units="km", temperature_units="C", battery_level=40.0,
                      charge_limit_soc=90)  # fmt: skip
    car.user_present = True
    car.command("auto_conditioning_start")
    car.start_supercharging(max_kw=100.0)
    world.advance(120)
    return car


def test_field_names_and_types_match_the_fixture() -> None:
    fixture = json.loads(FIXTURE.read_text())
    ours = as_json(fast_charging_car().vehicle_data(ALL))
    assert type_mismatches(fixture, ours) == []


def test_fixture_situation_values() -> None:
    ours = fast_charging_car().vehicle_data(ALL)
    charge = ours["charge_state"]
    assert charge["charging_state"] == "Charging"
    assert charge["fast_charger_present"] is True
    assert charge["fast_charger_type"] == "Combo"
    assert charge["conn_charge_cable"] == "IEC"
    assert charge["charger_power"] == 100
    assert charge["charger_voltage"] == 2
    assert charge["charger_actual_current"] == 0
    assert ours["drive_state"]["power"] == -100
    assert ours["gui_settings"]["gui_distance_units"] == "km/hr"
    assert ours["gui_settings"]["gui_temperature_units"] == "C"
    assert ours["vehicle_config"]["car_type"] == "model3"
    assert ours["vehicle_config"]["charge_port_type"] == "CCS"
    assert ours["vehicle_state"]["is_user_present"] is True
    assert ours["climate_state"]["is_climate_on"] is True


@pytest.mark.parametrize("situation", ["idle", "ac_charging", "driving", "asleep_then_woken"])
def test_every_fixture_key_is_present_in_other_situations(situation: str) -> None:
    world, car = make(model="Y")
    if situation == "ac_charging":
        car.plug_into(world.add_wall_connector())
    elif situation == "driving":
        car.drive("loop_10km")
    elif situation == "asleep_then_woken":
        world.advance(3600)
        car.wake_up()
    world.advance(60)
    fixture = json.loads(FIXTURE.read_text())
    ours = as_json(car.vehicle_data(ALL))
    missing = [p for p in type_mismatches(fixture, ours) if p.startswith("missing")]
    assert missing == []


def test_blocks_and_location() -> None:
    _world, car = make()
    default = car.vehicle_data()
    assert [b for b in BLOCKS if b in default] == list(BLOCKS)
    assert not LOCATION_KEYS & set(default["drive_state"])
    with_location = car.vehicle_data(["location_data"])
    assert set(with_location) & set(BLOCKS) == {"drive_state"}
    assert set(with_location["drive_state"]) >= LOCATION_KEYS
    assert with_location["drive_state"]["latitude"] == 37.4925
    only = car.vehicle_data(["charge_state", "climate_state"])
    assert set(only) & set(BLOCKS) == {"charge_state", "climate_state"}
    assert only["id"] == car.id
    from_query = car.vehicle_data("vehicle_state;gui_settings")
    assert set(from_query) & set(BLOCKS) == {"vehicle_state", "gui_settings"}


def test_timestamps_are_the_world_clock() -> None:
    world, car = make()
    world.advance(12.345)
    data = car.vehicle_data(ALL)
    ms = int(world.now() * 1000)
    for block in BLOCKS:
        assert data[block]["timestamp"] == ms
    assert data["drive_state"]["gps_as_of"] == int(world.now())


def test_summary() -> None:
    _world, car = make()
    summary = car.summary()
    assert summary["id"] == car.id
    assert summary["id_s"] == str(car.id)
    assert summary["vehicle_id"] == car.vehicle_id
    assert summary["vin"] == car.vin
    assert summary["user_id"] == car.account.user_id
    assert summary["access_type"] == "OWNER"
    assert summary["state"] == "online"
    assert summary["in_service"] is False
    assert len(summary["tokens"]) == 2
    assert "MDL3" in summary["option_codes"]
    assert not set(BLOCKS) & set(summary)
    fixture = json.loads(FIXTURE.read_text())
    top = {k: v for k, v in fixture.items() if not isinstance(v, dict)}
    assert type_mismatches(top, as_json(summary)) == []


@pytest.mark.parametrize("model", ["3", "Y", "S", "X"])
def test_vin(model: str) -> None:
    _world, car = make(model=model)
    vin = car.vin
    assert len(vin) == 17
    assert vin.startswith("5YJ")
    assert vin[3] == model
    assert vin[8] == vin_check_digit(vin)
    year = time.gmtime(START).tm_year
    assert vin[9] in {year_code(y) for y in range(year - 3, year + 1)}
    assert vin[10] == "F"
    assert vin == make(model=model)[1].vin  # seeded
    assert vin != make(seed=8, model=model)[1].vin


def test_vin_check_digit_known_value() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"  # the textbook example
    assert year_code(2019) == "K"
    assert year_code(2024) == "R"
    assert year_code(2026) == "T"


def test_given_identity_is_kept() -> None:
    _world, car = make(vin="5YJ3E1EA1KF000001", display_name="Tim's Tesla")
    assert car.vin == "5YJ3E1EA1KF000001"
    assert car.vehicle_data()["vehicle_state"]["vehicle_name"] == "Tim's Tesla"
    with pytest.raises(ValueError, match="17"):
        make(vin="short")
    with pytest.raises(ValueError, match="model"):
        make(model="Roadster")


# --- climate ----------------------------------------------------------------------------------


def test_outside_temperature_follows_the_day() -> None:
    world, car = make()
    temps = []
    for _ in range(24):
        temps.append(car.outside_temp_c)
        world.advance(3600)
    assert 10 < max(temps) - min(temps) <= 12.01
    warmest_local_hour = (START + temps.index(max(temps)) * 3600 + car.local_offset_s) % 86_400 / 3600
    assert 14 <= warmest_local_hour <= 16


def test_cabin_follows_outside_then_the_setpoint() -> None:
    world, car = make(temperature_units="C")
    car.set_outside_temp(5.0)
    world.advance(4 * 3600)
    assert car.inside_temp_c == pytest.approx(5.0, abs=0.5)
    car.wake_up()
    world.advance(30)
    car.command("set_temps", {"driver_temp": 22.0})
    car.command("auto_conditioning_start")
    world.advance(60)
    climate = car.vehicle_data()["climate_state"]
    assert 5.0 < climate["inside_temp"] < 10.0
    assert climate["is_climate_on"] is True
    assert climate["is_preconditioning"] is True
    assert climate["fan_status"] > 0
    assert climate["outside_temp"] == 5.0
    world.advance(25 * 60)
    assert car.inside_temp_c == pytest.approx(22.0, abs=0.5)
    car.command("set_preconditioning_max", {"on": True})
    world.advance(20 * 60)
    assert car.inside_temp_c == pytest.approx(28.0, abs=0.5)
    car.command("auto_conditioning_stop")
    world.advance(6 * 3600)
    assert car.inside_temp_c == pytest.approx(5.0, abs=0.5)
    assert car.state == "asleep"


def test_cabin_is_the_same_however_often_it_is_read() -> None:
    def run(step: float) -> float:
        world, car = make()
        elapsed = 0.0
        while elapsed < 86_400:
            world.advance(step)
            elapsed += step
            car.summary()
        return car.inside_temp_c

    assert run(60.0) == pytest.approx(run(86_400.0), abs=1e-9)


# --- software update ----------------------------------------------------------------------------


def sw(car: Car) -> dict[str, Any]:
    return render.vehicle_state(car, car.now)["software_update"]


def test_software_update_flow() -> None:
    world, car = make()
    old = car.car_version
    car.offer_update("2026.44.1", download_s=600)
    assert sw(car)["status"] == "downloading"
    world.advance(300)
    assert sw(car)["download_perc"] == 50
    world.advance(301)
    assert sw(car) | {"expected_duration_sec": 0} == {
        "download_perc": 100, "expected_duration_sec": 0, "install_perc": 1, "scheduled_time_ms": 0,
        "status": "available", "version": "2026.44.1", "warning_time_remaining_ms": 0,
    }  # fmt: skip
    assert car.command("schedule_software_update", {"offset_sec": 300}) == (True, "")
    state = sw(car)
    assert state["status"] == "scheduled"
    assert state["scheduled_time_ms"] == int((world.now() + 300) * 1000)
    assert state["warning_time_remaining_ms"] == 120_000
    world.advance(299)
    assert sw(car)["warning_time_remaining_ms"] == 1_000
    world.advance(2)
    assert sw(car)["status"] == "installing"
    assert car.is_updating
    assert car.state == "online"
    duration = car.software.expected_duration_s
    world.advance(duration / 2)
    assert 45 <= sw(car)["install_perc"] <= 55
    world.advance(duration / 2)
    assert not car.is_updating
    assert sw(car)["status"] == ""
    assert car.car_version != old
    assert car.car_version.startswith("2026.44.1 ")
    assert car.vehicle_data()["vehicle_state"]["car_version"] == car.car_version


def test_cancel_software_update() -> None:
    world, car = make()
    car.offer_update("2026.44.1", download_s=0)
    car.command("schedule_software_update", {"offset_sec": 3600})
    assert car.command("cancel_software_update") == (True, "")
    assert sw(car)["status"] == "available"
    world.advance(7200)
    assert sw(car)["status"] == "available"


def test_scheduled_install_wakes_a_sleeping_car() -> None:
    world, car = make(newer_computer=False)
    car.offer_update("2026.44.1", download_s=0)
    car.command("schedule_software_update", {"offset_sec": 7200})
    world.advance(3600)
    assert car.state == "asleep"
    world.advance(3601)
    assert car.state == "online"
    assert car.is_updating
    assert car.wake_reasons == {"software_update": 1}
    world.advance(car.software.expected_duration_s + 897)  # it started 1 s before the last read
    assert car.state == "online"
    world.advance(2)
    assert car.state == "asleep"


def test_install_waits_for_the_end_of_a_drive() -> None:
    world, car = make()
    car.offer_update("2026.44.1", download_s=0)
    car.command("schedule_software_update", {"offset_sec": 60})
    car.drive("commute", speed_kph=80)
    world.advance(600)
    assert car.is_driving
    assert sw(car)["status"] == "scheduled"
    world.advance(1200)
    assert not car.is_driving
    assert car.is_updating


# --- the small endpoints ------------------------------------------------------------------------


def test_small_endpoints() -> None:
    _world, car = make()
    sites = car.nearby_charging_sites()
    assert len(sites["superchargers"]) == 4
    first = sites["superchargers"][0]
    assert first["type"] == "supercharger"
    assert 0 <= first["available_stalls"] <= first["total_stalls"]
    assert [s["distance_miles"] for s in sites["superchargers"]] == sorted(
        s["distance_miles"] for s in sites["superchargers"]
    )
    assert sites["destination_charging"][0]["type"] == "destination"
    assert car.service_data() == {"service_status": "not_in_service"}
    notes = car.release_notes()["release_notes"]
    assert notes[0]["customer_version"] == car.car_version.split()[0]
    assert car.mobile_enabled() is True
    history = car.charge_history()
    assert history["screen_title"] == "Charging History"
    assert history["charging_history_graph"]["data_points"] == []
    json.dumps([sites, notes, history])


def test_same_seed_same_answers() -> None:
    def run() -> str:
        world, car = make(seed=3)
        unit = world.add_wall_connector()
        car.plug_into(unit)
        world.advance(1234)
        car.command("set_charging_amps", {"charging_amps": 12})
        world.advance(777)
        return json.dumps([car.vehicle_data(ALL), car.telemetry(), car.summary()], sort_keys=True)

    assert run() == run()
