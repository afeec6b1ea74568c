"""A circuit's breaker in the twin: IEC 60898-1's trip rules, found in world time, cutting its units."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from teslalink.simulator import World, populate_demo, scenario
from teslalink.simulator.circuit import THERMAL_TAU_S, TRIP_HEAT
from teslalink.simulator.scenario import ScenarioError
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.render import charge_state
from teslalink.simulator.wall_connector.unit import WallConnectorUnit

from .helpers import START

LIMIT_A = 32.0


def refused(status: int, call: Any, *args: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        call(*args)
    assert caught.value.status == status, caught.value.reason
    return caught.value.reason


def thermal_trip_s(multiple: float) -> float:
    """From cold, at a steady multiple of In: when the model's release trips."""
    drive = multiple**2
    return THERMAL_TAU_S * math.log(drive / (drive - TRIP_HEAT))


def charging_unit(
    world: World, amps: float, *, limit_a: float = LIMIT_A, curve: str = "C"
) -> WallConnectorUnit:
    """A unit alone on a circuit, charging (no car model: the unit draws what it is asked)."""
    unit = world.add_wall_connector(max_current_a=80.0)
    scenario.add_circuit(world, "garage", limit_a, curve, [unit.serial])
    unit.plug_in(amps)
    return unit


@pytest.fixture
def world() -> World:
    return World(seed=5, speed=0.0, start=START)


def test_under_the_limit_never_trips_over_a_day(world: World) -> None:
    unit = charging_unit(world, 0.99 * LIMIT_A)
    for _ in range(24):
        scenario.advance(world, 3600)
        assert unit.contactor_closed
    truth = scenario.circuit_truth(world, "garage")
    assert not truth["tripped"]
    assert truth["trips"] == []
    assert truth["overload_s"] == 0.0
    assert truth["current_a"]["A"] == pytest.approx(0.99 * LIMIT_A)


def test_1_13_in_holds_for_an_hour(world: World) -> None:
    unit = charging_unit(world, 1.13 * LIMIT_A)
    scenario.advance(world, 3600)
    truth = scenario.circuit_truth(world, "garage")
    assert not truth["tripped"]
    assert unit.contactor_closed
    assert truth["overload_s"] == pytest.approx(3600, abs=10)  # above the limit all along


def test_1_45_in_trips_within_the_hour_after_the_thermal_time(world: World) -> None:
    unit = charging_unit(world, 1.45 * LIMIT_A)
    start = world.now()
    scenario.advance(world, 60)
    assert not scenario.circuit_truth(world, "garage")["tripped"]  # not at once: it is thermal
    scenario.advance(world, 3540)
    truth = scenario.circuit_truth(world, "garage")
    assert truth["tripped"]
    (trip,) = truth["trips"]
    assert trip["release"] == "thermal"
    assert 60 < trip["at"] - start < 3600
    handshake_s = 8.0  # at most: 7 then 9 before the contactor closes
    assert trip["at"] - start == pytest.approx(thermal_trip_s(1.45), abs=handshake_s)
    assert trip["current_a"]["A"] == pytest.approx(1.45 * LIMIT_A)
    assert trip["overload_s"] == pytest.approx(thermal_trip_s(1.45), abs=1.0)
    assert not unit.contactor_closed
    assert unit.current_a == 0.0


def test_a_magnetic_overload_trips_at_once(world: World) -> None:
    unit = charging_unit(world, 30.0, limit_a=16.0, curve="B")  # B: instant at 5 x In = 80 A
    scenario.advance(world, 20.0)
    truth = scenario.circuit_truth(world, "garage")
    assert not truth["tripped"]  # 1.9 x In: thermal, a minute and a half away
    assert truth["current_a"]["A"] == pytest.approx(30.0)
    at = world.now()
    truth = scenario.set_circuit_load(world, "garage", 55.0)  # 85 A
    assert truth["tripped"]
    (trip,) = truth["trips"]
    assert trip["at"] == at
    assert trip["release"] == "magnetic"
    assert trip["current_a"]["A"] == pytest.approx(85.0)
    assert truth["current_a"] == {"A": 0.0, "B": 0.0, "C": 0.0}
    assert not unit.contactor_closed


def test_house_load_counts(world: World) -> None:
    unit = charging_unit(world, 30.0)
    scenario.advance(world, 3600)
    before = scenario.circuit_truth(world, "garage")
    assert before["overload_s"] == 0.0
    warm = before["heat"]["A"]  # an hour at 30 A: the release is warm, (30 / 32)^2
    assert warm == pytest.approx((30.0 / LIMIT_A) ** 2)
    at = world.now()
    scenario.set_circuit_load(world, "garage", 20.0)  # 50 A on a 32 A circuit
    scenario.advance(world, 3600)
    truth = scenario.circuit_truth(world, "garage")
    (trip,) = truth["trips"]
    assert trip["current_a"]["A"] == pytest.approx(50.0)
    drive = (50.0 / LIMIT_A) ** 2
    expected = THERMAL_TAU_S * math.log((drive - warm) / (drive - TRIP_HEAT))
    assert trip["at"] - at == pytest.approx(expected, abs=0.01)
    assert expected < thermal_trip_s(50.0 / LIMIT_A)  # sooner than from cold
    assert truth["overload_s"] == pytest.approx(trip["at"] - at)
    assert not unit.contactor_closed


def test_units_share_the_circuit_per_phase(world: World) -> None:
    three = world.add_wall_connector(wiring="three_phase", max_current_a=32.0)
    single = world.add_wall_connector(wiring="single_phase", max_current_a=32.0)
    scenario.add_circuit(world, "garage", LIMIT_A, "C", [three.serial, single.serial])
    three.plug_in(16.0)
    single.plug_in(20.0)
    scenario.advance(world, 600)
    truth = scenario.circuit_truth(world, "garage")
    assert truth["current_a"] == pytest.approx({"A": 36.0, "B": 16.0, "C": 16.0})
    assert not truth["tripped"]  # 1.125 x In on one phase: holds
    assert 580 < truth["overload_s"] <= 600
    single.set_requested_current(30.0)  # 46 A on phase A: both units go dark
    scenario.advance(world, 3600)
    truth = scenario.circuit_truth(world, "garage")
    assert truth["tripped"]
    assert truth["trips"][0]["current_a"] == pytest.approx({"A": 46.0, "B": 16.0, "C": 16.0})
    assert not three.contactor_closed
    assert not single.contactor_closed


def test_a_trip_is_found_in_world_time_with_no_reads_in_between() -> None:
    trips = []
    for reads in (False, True):
        world = World(seed=5, speed=0.0, start=START)
        charging_unit(world, 1.6 * LIMIT_A)
        if reads:
            for _ in range(100):
                scenario.advance(world, 7.0)
                scenario.unit_truth(world, world.wall_connectors[0].serial)
            scenario.advance(world, 86_400.0 - 700.0)
        else:
            scenario.advance(world, 86_400.0)  # one long step, nobody reads
        truth = scenario.circuit_truth(world, "garage")
        assert len(truth["trips"]) == 1
        trips.append(truth["trips"][0])
        assert truth["overload_s"] == pytest.approx(trips[-1]["overload_s"])
    assert trips[0]["at"] == pytest.approx(trips[1]["at"], abs=1e-6)
    assert trips[0]["at"] - START < 600  # at its instant, not at the read a day later


def test_a_trip_cuts_the_car_until_reset() -> None:
    world = World(seed=11, speed=0.0, start=START)
    (account,) = populate_demo(world, accounts=1)
    car, unit = account.vehicles[0], account.chargers[0].unit
    scenario.advance(world, 30)
    amps = unit.current_a
    assert amps > 10
    scenario.add_circuit(world, "garage", amps / 1.6, "C", [unit.serial])
    scenario.advance(world, 600)
    assert scenario.circuit_truth(world, "garage")["tripped"]
    vitals = unit.vitals()
    assert not vitals["contactor_closed"]
    assert vitals["vehicle_current_a"] < 1.0  # what an open contactor reads: noise only
    truth = scenario.vehicle_truth(world, car.id)
    assert truth["charging_state"] == "NoPower"
    assert truth["charge_power_kw"] == 0.0
    seen = charge_state(car, world.now())  # what the Owner API would answer
    assert seen["charging_state"] == "NoPower"
    assert seen["charger_actual_current"] == 0
    assert seen["charger_power"] == 0
    energy = unit.session_energy_wh
    scenario.advance(world, 3600)
    assert unit.session_energy_wh == energy  # nothing flows while tripped
    assert scenario.circuit_truth(world, "garage")["tripped"]
    scenario.set_circuit_load(world, "garage", 0.0)
    scenario.reset_breaker(world, "garage")
    scenario.advance(world, 30)  # the car handshakes again
    assert unit.vitals()["contactor_closed"]
    truth = scenario.vehicle_truth(world, car.id)
    assert truth["charging_state"] == "Charging"
    assert truth["charge_power_kw"] > 1
    assert charge_state(car, world.now())["charging_state"] == "Charging"
    assert unit.session_energy_wh > energy
    scenario.advance(world, 600)  # the overload persists: it trips again
    assert len(scenario.circuit_truth(world, "garage")["trips"]) == 2


def test_bad_input_is_a_scenario_error_with_its_status(world: World) -> None:
    unit = world.add_wall_connector()
    assert "curve" in refused(400, scenario.add_circuit, world, "g", 32, "D", [unit.serial])
    assert "limit_a" in refused(400, scenario.add_circuit, world, "g", -1, "C", [unit.serial])
    assert "limit_a" in refused(400, scenario.add_circuit, world, "g", True, "C", [unit.serial])
    assert "name" in refused(400, scenario.add_circuit, world, "", 32, "C", [unit.serial])
    assert "serials" in refused(400, scenario.add_circuit, world, "g", 32, "C", unit.serial)
    assert "repeat" in refused(400, scenario.add_circuit, world, "g", 32, "C", [unit.serial] * 2)
    refused(404, scenario.add_circuit, world, "g", 32, "C", ["TWC0"])
    assert world.circuits == []  # nothing half-made
    scenario.add_circuit(world, "g", 32, "c", [unit.serial])
    assert "already exists" in refused(409, scenario.add_circuit, world, "g", 16, "B", [])
    assert "already on circuit" in refused(409, scenario.add_circuit, world, "h", 16, "B", [unit.serial])
    assert "not tripped" in refused(409, scenario.reset_breaker, world, "g")
    assert "amps" in refused(400, scenario.set_circuit_load, world, "g", math.inf)
    refused(404, scenario.circuit_truth, world, "nowhere")
    refused(404, scenario.set_circuit_load, world, "nowhere", 1.0)


@pytest.fixture
async def admin(world: World) -> AsyncIterator[Any]:
    timeout = aiohttp.ClientTimeout(total=30)  # a hang guard only
    async with serve_cloud(world) as cloud, aiohttp.ClientSession(timeout=timeout) as http:

        async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
            async with http.request(method, cloud.admin + path, json=body) as response:
                return response.status, await response.json()

        yield call


async def test_the_http_controls_answer_as_the_functions_do(world: World, admin: Any) -> None:
    unit = world.add_wall_connector(max_current_a=80.0)
    status, body = await admin(
        "POST", "circuits", {"name": "garage", "limit_a": 20, "curve": "B", "serials": [unit.serial]}
    )
    assert status == 200
    assert body == scenario.circuit_truth(world, "garage")
    assert body["wall_connectors"] == [unit.serial]
    assert body["curve"] == "B"
    unit.plug_in(40.0)
    await admin("POST", "advance", {"seconds": 3600})
    status, body = await admin("GET", "circuits/garage")
    assert status == 200
    assert body["tripped"]
    assert body == scenario.circuit_truth(world, "garage")
    status, body = await admin("POST", "circuits/garage/reset")
    assert status == 200
    assert not body["tripped"]
    status, body = await admin("POST", "circuits/garage/house_load", {"amps": 7.5})
    assert status == 200
    assert body["house_load_a"] == 7.5
    assert body == scenario.circuit_truth(world, "garage")
    status, truth = await admin("GET", "truth")
    assert truth["circuits"]["garage"] == body
    status, listing = await admin("GET", "")
    listed = {(e["method"], e["path"]) for e in listing["endpoints"]}
    assert ("POST", "/_twin/circuits/{circuit}/reset") in listed


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "circuits", {"name": "g", "limit_a": 20, "curve": "Z", "serials": []}, 400),
        ("POST", "circuits", {"name": "g", "limit_a": 20, "serials": [], "phase": 2}, 400),
        ("POST", "circuits", {"limit_a": 20, "serials": []}, 400),
        ("POST", "circuits", {"name": "g", "limit_a": 20, "serials": ["TWC0"]}, 404),
        ("GET", "circuits/nowhere", None, 404),
        ("POST", "circuits/nowhere/reset", None, 404),
        ("POST", "circuits/nowhere/house_load", {"amps": 1}, 404),
    ],
)
async def test_bad_requests_get_a_status_and_a_reason(
    admin: Any, method: str, path: str, body: Any, status: int
) -> None:
    got, answer = await admin(method, path, body)
    assert got == status
    assert answer["error"]
