"""Scenario controls: the rules in `teslalink.simulator.scenario`, in process and over `/_twin/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from teslalink.simulator import World, populate_demo, scenario
from teslalink.simulator.demo import DemoAccount
from teslalink.simulator.faults import Faults
from teslalink.simulator.scenario import ScenarioError
from teslalink.simulator.serve import Cloud, serve_cloud

from .helpers import START

NOON_PACIFIC = START - START % 86_400 + 20 * 3600  # 20:00 UTC: midday in Fremont, the sun is up


@pytest.fixture
def demo() -> tuple[World, list[DemoAccount]]:
    world = World(seed=11, speed=0.0, start=NOON_PACIFIC)
    return world, populate_demo(world, accounts=2, cars_per_account=2)


def refused(status: int, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        call(*args, **kwargs)
    assert caught.value.status == status, caught.value.reason
    return caught.value.reason


# --- in process -----------------------------------------------------------------------------------


def test_plug_in_defaults_to_the_accounts_wall_connector(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    sleeper = accounts[0].vehicles[1]
    charger = accounts[0].chargers[0].unit
    other = world.add_wall_connector()  # paired with nobody
    busy = refused(409, scenario.plug_in, world, sleeper.id)  # the first car charges there
    assert charger.serial in busy
    assert "already plugged" in refused(
        409, scenario.plug_in, world, accounts[1].vehicles[1].id, charger.serial
    )
    scenario.unplug(world, accounts[0].vehicles[0].id)
    truth = scenario.plug_in(world, sleeper.vin)  # by VIN; wakes the car
    assert truth["wall_connector"] == charger.serial
    assert truth["state"] == "online"
    scenario.advance(world, 120)
    unit = scenario.unit_truth(world, charger.serial)
    assert unit["vehicle"] == sleeper.id
    assert unit["contactor_closed"]
    assert unit["power_w"] > 1000
    assert unit["session_energy_wh"] == pytest.approx(charger.session_energy_wh)
    read = charger.vitals()  # what the unit's sensors report: the truth plus a little noise
    assert read["session_energy_wh"] == pytest.approx(unit["session_energy_wh"], abs=0.001)
    assert read["vehicle_current_a"] == pytest.approx(unit["current_a"], abs=1.0)
    assert read["handle_temp_c"] == pytest.approx(unit["handle_temp_c"], abs=2.0)
    assert scenario.unplug(world, sleeper.id)["wall_connector"] is None
    assert scenario.plug_in(world, sleeper.id, other.serial)["wall_connector"] == other.serial


def test_a_drive_along_a_route_or_to_a_point_and_its_end(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    car = accounts[0].vehicles[0]
    assert "unplug" in refused(409, scenario.drive, world, car.id, route="loop_10km")
    scenario.unplug(world, car.id)
    assert scenario.drive(world, car.id, route="to_supercharger", speed_kph=80)["shift_state"] == "D"
    scenario.advance(world, 120)
    moving = scenario.vehicle_truth(world, car.id)
    assert moving["driving"]
    assert moving["speed_kph"] == pytest.approx(80.0)
    parked = scenario.park(world, car.id)
    assert parked["shift_state"] == "P"
    assert parked["trips"] == 1
    assert (parked["latitude"], parked["longitude"]) == car.location
    scenario.drive(world, car.id, to=[37.5, -121.95])
    scenario.advance(world, 3600)
    arrived = scenario.vehicle_truth(world, car.id)
    assert not arrived["driving"]
    assert arrived["trips"] == 2
    assert (arrived["latitude"], arrived["longitude"]) == pytest.approx((37.5, -121.95), abs=1e-6)


def test_the_weather_outside_a_car(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    car = accounts[0].vehicles[0].id
    assert scenario.set_outside_temp(world, car, -5)["outside_temp_c"] == -5.0
    scenario.advance(world, 3 * 3600)
    assert scenario.vehicle_truth(world, car)["inside_temp_c"] < 10  # the cabin follows
    assert scenario.set_outside_temp(world, car, None)["outside_temp_c"] != -5.0


def test_sleep_offline_and_back(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    charging = accounts[0].vehicles[0]
    assert "keeps the car awake" in refused(409, scenario.fall_asleep, world, charging.id)
    scenario.unplug(world, charging.id)
    asleep = scenario.fall_asleep(world, charging.id)
    assert asleep["state"] == "asleep"
    assert asleep["power_state"] == "asleep"
    wakes = asleep["wake_count"]
    assert scenario.go_offline(world, charging.id)["state"] == "offline"
    back = scenario.come_online(world, charging.id)
    assert back["state"] == "asleep"  # connectivity back: its own state again, not woken
    assert scenario.vehicle_truth(world, charging.id)["wake_count"] == wakes  # reading woke nothing


def test_weather_house_load_and_grid_of_a_site(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    site = accounts[0].sites[0].energy_site_id
    clear = scenario.set_cloud_cover(world, site, 0.0)
    overcast = scenario.set_cloud_cover(world, site, 1.0)
    assert clear["solar_w"] > 0
    assert overcast["solar_w"] == pytest.approx(clear["solar_w"] * 0.22)
    assert overcast["cloud_cover"] == 1.0
    assert overcast["cloud_cover_fixed"]
    assert not scenario.set_cloud_cover(world, site, None)["cloud_cover_fixed"]
    loaded = scenario.set_house_load(world, site, 2500)
    assert loaded["load_w"] == 2500.0
    flows = loaded["solar_w"] + loaded["battery_w"] + loaded["grid_w"]
    assert flows == pytest.approx(2500.0)
    scenario.advance(world, 1800)
    assert scenario.site_truth(world, site)["load_w"] == 2500.0
    down = scenario.set_grid(world, site, False)
    assert not down["grid_up"]
    assert down["grid_w"] == 0.0
    assert len(accounts[0].sites[0].ledger.events) == 1  # the outage is a backup event
    assert scenario.set_grid(world, site, True)["grid_up"]
    assert scenario.set_storm_watch(world, site, True)["storm_watch_active"]


def test_quirks_and_a_unit_going_offline(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    unit = accounts[0].chargers[0].unit
    assert scenario.set_quirks(world, unit.serial, "nan,drops=0.5")["quirks"] == "nan,drops=0.5"
    assert unit.quirks.nan_in_lifetime
    assert unit.quirks.drop_rate == 0.5
    assert "unknown quirk" in refused(400, scenario.set_quirks, world, unit.serial, "sparks")
    assert scenario.set_quirks(world, unit.serial, "")["quirks"] == ""
    assert not scenario.set_unit_online(world, unit.serial, False)["online"]
    assert unit.offline
    assert scenario.set_unit_online(world, unit.serial, True)["online"]


def test_a_unit_lists_the_alerts_a_scenario_raises(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    unit = accounts[0].chargers[0].unit
    assert unit.vitals()["current_alerts"] == []
    assert scenario.set_unit_alerts(world, unit.serial, ["grid_fault", 17])["alerts"] == ["grid_fault", 17]
    assert unit.vitals()["current_alerts"] == ["grid_fault", 17]
    assert scenario.set_unit_alerts(world, unit.serial, [])["alerts"] == []
    assert unit.vitals()["current_alerts"] == []


@pytest.mark.parametrize(
    ("call", "args", "kwargs", "reason"),
    [
        (scenario.advance, (), {"seconds": "60"}, "finite number"),
        (scenario.drive, ("CAR",), {"route": "moon"}, "unknown route"),
        (scenario.drive, ("CAR",), {}, "either route"),
        (scenario.drive, ("CAR",), {"route": "commute", "to": [1, 2]}, "either route"),
        (scenario.drive, ("CAR",), {"to": [91, 0]}, "latitude must be between -90 and 90"),
        (scenario.drive, ("CAR",), {"to": "37,-122"}, "[latitude, longitude]"),
        (scenario.drive, ("CAR",), {"route": "commute", "speed_kph": 0}, "speed_kph"),
        (scenario.drive, ("CAR",), {"route": "commute", "speed_kph": True}, "speed_kph"),
        (scenario.set_cloud_cover, ("SITE", 1.5), {}, "between 0 and 1"),
        (scenario.set_house_load, ("SITE", -1), {}, "watts"),
        (scenario.set_house_load, ("SITE", float("nan")), {}, "finite"),
        (scenario.set_grid, ("SITE", "down"), {}, "true or false"),
        (scenario.set_storm_watch, ("SITE", 1), {}, "true or false"),
        (scenario.set_quirks, ("UNIT", 7), {}, "string"),
        (scenario.set_unit_online, ("UNIT", None), {}, "true or false"),
        (scenario.set_unit_alerts, ("UNIT", "grid_fault"), {}, "list of strings or integers"),
        (scenario.set_unit_alerts, ("UNIT", [True]), {}, "list of strings or integers"),
        (scenario.plug_in, ("CAR", 5), {}, "serial"),
    ],
)
def test_bad_input_is_a_400_with_the_reason_and_changes_nothing(
    demo: tuple[World, list[DemoAccount]],
    call: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    reason: str,
) -> None:
    world, accounts = demo
    names = {
        "CAR": accounts[0].vehicles[0].id,
        "SITE": accounts[0].sites[0].energy_site_id,
        "UNIT": accounts[0].chargers[0].unit.serial,
    }
    before = scenario.world_truth(world)
    real_args = [names.get(a, a) if isinstance(a, str) else a for a in args]
    assert reason in refused(400, call, world, *real_args, **kwargs)
    assert scenario.world_truth(world) == before


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (scenario.vehicle_truth, ("123",)),
        (scenario.unplug, ("5YJ3E1EA7PF000000",)),
        (scenario.site_truth, ("42",)),
        (scenario.unit_truth, ("TWC0",)),
        (scenario.set_quirks, ("TWC0", "nan")),
    ],
)
def test_unknown_devices_are_404(
    demo: tuple[World, list[DemoAccount]], call: Any, args: tuple[Any, ...]
) -> None:
    world, _ = demo
    assert "no " in refused(404, call, world, *args)


def test_plug_into_an_unknown_unit_is_404(demo: tuple[World, list[DemoAccount]]) -> None:
    world, accounts = demo
    assert "TWC0" in refused(404, scenario.plug_in, world, accounts[0].vehicles[1].id, "TWC0")


# --- over HTTP --------------------------------------------------------------------------------------


@dataclass
class Served:
    world: World
    accounts: list[DemoAccount]
    cloud: Cloud
    http: aiohttp.ClientSession

    async def admin(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with self.http.request(method, self.cloud.admin + path, **kwargs) as response:
            return response.status, await response.json()

    async def owner_api(self, path: str) -> Any:
        token = self.world.auth.issue(self.world.account(self.accounts[0].email))["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.get(self.cloud.owner_api + path, headers=headers) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["response"]


@pytest.fixture
async def served(demo: tuple[World, list[DemoAccount]]) -> AsyncIterator[Served]:
    world, accounts = demo
    timeout = aiohttp.ClientTimeout(total=30)  # a hang guard only
    async with serve_cloud(world) as cloud, aiohttp.ClientSession(timeout=timeout) as http:
        yield Served(world, accounts, cloud, http)


async def test_the_admin_base_url_lists_every_endpoint(served: Served) -> None:
    status, body = await served.admin("GET", "")
    assert status == 200
    listed = {(e["method"], e["path"]) for e in body["endpoints"]}
    assert ("POST", "/_twin/advance") in listed
    assert ("POST", "/_twin/vehicles/{vehicle}/drive") in listed
    assert ("GET", "/_twin/wall_connectors/{serial}") in listed
    assert all(e["doc"] for e in body["endpoints"])


async def test_a_drive_over_http_is_what_the_owner_api_shows(served: Served) -> None:
    car = served.accounts[0].vehicles[0]
    assert (await served.admin("POST", f"vehicles/{car.id}/unplug"))[0] == 200
    status, truth = await served.admin(
        "POST", f"vehicles/{car.id}/drive", {"route": "commute", "speed_kph": 90}
    )
    assert status == 200
    assert truth["shift_state"] == "D"
    await served.admin("POST", "advance", {"seconds": 300})
    status, truth = await served.admin("GET", f"vehicles/{car.id_s}")
    assert status == 200
    seen = await served.owner_api(f"api/1/vehicles/{car.id}/vehicle_data?endpoints=drive_state;location_data")
    assert seen["drive_state"]["shift_state"] == truth["shift_state"] == "D"
    assert seen["drive_state"]["latitude"] == pytest.approx(truth["latitude"], abs=1e-5)
    assert seen["drive_state"]["speed"] == pytest.approx(truth["speed_kph"] / 1.609344, abs=1)
    status, parked = await served.admin("POST", f"vehicles/{car.id}/park")
    assert status == 200
    assert parked["shift_state"] == "P"


async def test_site_and_unit_controls_over_http(served: Served) -> None:
    site = served.accounts[0].sites[0].energy_site_id
    unit = served.accounts[0].chargers[0].unit.serial
    status, truth = await served.admin("POST", f"energy_sites/{site}/house_load", {"watts": 1800})
    assert status == 200
    assert truth["load_w"] == 1800.0
    live = await served.owner_api(f"api/1/energy_sites/{site}/live_status")
    assert live["load_power"] == pytest.approx(1800, rel=0.05)  # the meters jitter around the truth
    status, truth = await served.admin(
        "POST", f"energy_sites/{site}/weather", {"cloud_cover": 1, "storm": True}
    )
    assert status == 200
    assert truth["cloud_cover"] == 1.0
    assert truth["storm_watch_active"]
    status, truth = await served.admin("POST", f"energy_sites/{site}/grid", {"up": False})
    assert status == 200
    assert not truth["grid_up"]
    assert (await served.owner_api(f"api/1/energy_sites/{site}/live_status"))["grid_status"] != "Active"
    status, truth = await served.admin("POST", f"wall_connectors/{unit}/quirks", {"spec": "nan"})
    assert status == 200
    assert truth["quirks"] == "nan"
    status, truth = await served.admin("POST", f"wall_connectors/{unit}/offline")
    assert status == 200
    assert not truth["online"]
    with pytest.raises(aiohttp.ClientConnectionError):
        async with served.http.get(served.cloud.wall_connectors[0].url + "/api/1/vitals"):
            pass
    status, truth = await served.admin("POST", f"wall_connectors/{unit}/online")
    assert status == 200
    assert truth["online"]
    status, everything = await served.admin("GET", "truth")
    assert status == 200
    assert everything["wall_connectors"][unit]["quirks"] == "nan"
    assert set(everything["vehicles"]) == {car.id_s for car in served.world.vehicles}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reason"),
    [
        (
            "POST",
            "vehicles/{car}/drive",
            {"route": "loop_10km", "sped_kph": 9},
            400,
            "unknown field sped_kph",
        ),
        ("POST", "vehicles/{car}/drive", [1, 2], 400, "JSON object"),
        ("POST", "vehicles/{car}/drive", {"to": [0, 200]}, 400, "longitude"),
        ("POST", "vehicles/{car}/sleep", None, 409, "keeps the car awake"),
        ("POST", "vehicles/{car}/weather", {"outside_temp_c": 99}, 400, "between -60 and 60"),
        ("POST", "vehicles/{car}/weather", {}, 400, "missing field outside_temp_c"),
        ("POST", "vehicles/404/unplug", None, 404, "no vehicle"),
        ("GET", "energy_sites/404", None, 404, "no energy site"),
        ("POST", "energy_sites/{site}/house_load", {}, 400, "missing field watts"),
        ("POST", "energy_sites/{site}/weather", {}, 400, "cloud_cover, storm or both"),
        ("POST", "energy_sites/404/weather", {"cloud_cover": 0.5}, 404, "no energy site"),
        ("POST", "energy_sites/{site}/grid", {"up": "no"}, 400, "true or false"),
        ("POST", "wall_connectors/TWC0/offline", None, 404, "no Wall Connector"),
        ("POST", "wall_connectors/{unit}/quirks", {"spec": "sparks"}, 400, "unknown quirk"),
        ("POST", "advance", {"seconds": -5}, 400, ">= 0"),
    ],
)
async def test_bad_requests_get_a_status_and_a_reason(
    served: Served, method: str, path: str, body: Any, status: int, reason: str
) -> None:
    names = {
        "car": served.accounts[0].vehicles[0].id,
        "site": served.accounts[0].sites[0].energy_site_id,
        "unit": served.accounts[0].chargers[0].unit.serial,
    }
    before = scenario.world_truth(served.world)
    got, answer = await served.admin(method, path.format(**names), body)
    assert got == status
    assert reason in answer["error"]
    assert scenario.world_truth(served.world) == before


async def test_an_undecodable_body_is_a_400(served: Served) -> None:
    car = served.accounts[0].vehicles[0].id
    status, answer = await served.admin("POST", f"vehicles/{car}/drive", raw=b"{route")
    assert status == 400
    assert "JSON object" in answer["error"]


async def test_scenario_endpoints_refuse_other_hosts(world: World) -> None:
    from aiohttp.test_utils import make_mocked_request

    from teslalink.simulator.owner_api import create_owner_api_app
    from teslalink.simulator.owner_api.scenario_app import ROUTES

    app = create_owner_api_app(world)
    transport = type("T", (), {"get_extra_info": lambda self, name, default=None: ("192.0.2.7", 5555)})()
    for method, path, handler in ROUTES:
        request = make_mocked_request(method, path, app=app, transport=transport)
        assert (await handler(request)).status == 403, path


async def test_quirks_set_over_http_survive_a_change_of_the_faults(
    demo: tuple[World, list[DemoAccount]],
) -> None:
    world, accounts = demo
    unit = accounts[0].chargers[0].unit
    timeout = aiohttp.ClientTimeout(total=30)  # a hang guard only
    async with serve_cloud(world, faults=Faults()) as cloud, aiohttp.ClientSession(timeout=timeout) as http:
        served = Served(world, accounts, cloud, http)
        status, _ = await served.admin("POST", f"wall_connectors/{unit.serial}/quirks", {"spec": "nan"})
        assert status == 200
        status, _ = await served.admin("POST", "faults", {"surface": "wall_connector", "spec": "drop=0.25"})
        assert status == 200
        assert unit.quirks.nan_in_lifetime  # laid over the unit's own quirks, not over the start's
        assert unit.quirks.drop_rate == 0.25
        status, _ = await served.admin("POST", "faults", {"surface": "wall_connector", "spec": ""})
        assert status == 200
        assert unit.quirks.nan_in_lifetime
        assert unit.quirks.drop_rate == 0.0
    assert unit.quirks.nan_in_lifetime  # and still the unit's after serving ends
