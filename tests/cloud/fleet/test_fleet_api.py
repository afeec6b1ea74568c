"""FleetApi against the served Fleet twin: regions and 421, 412, scopes and location, reads,
wake_up, fleet_status, energy sites, REST commands (and a tesla-http-proxy), the blocking facade."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fleet_api_twin import (  # noqa: F401 - fixtures
    FleetTwin,
    demo_fleet_world_fixture,
    first_car,
    fleet_surfaces_of_fixture,
    fleet_twin_fixture,
    old_model_s,
)

from teslalink import errors
from teslalink.cloud.energy import LiveStatus
from teslalink.cloud.fleet.api import FleetApi, billing_category
from teslalink.cloud.fleet.hosts import FleetHosts
from teslalink.cloud.provider import StaticToken
from teslalink.cloud.vehicle import Vehicle, VehicleData
from teslalink.simulator.fleet import PartnerApp, fleet_state
from teslalink.sync import Fleet as BlockingFleet

TESLA_EU = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
NEW_APP = PartnerApp("new-app", "ta-secret.new", "new.example", ("http://127.0.0.1:9/cb",))


class Sent:
    """Every request an api makes (method, path, params), recorded on its way to the twin."""

    def __init__(self, api: FleetApi) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        real = api.request

        async def recording(method: str, path: str, **kwargs: Any) -> Any:
            self.calls.append((method, path, kwargs.get("params")))
            return await real(method, path, **kwargs)

        api.request = recording  # type: ignore[method-assign]


# --- regions ---------------------------------------------------------------------------------------


async def test_discovery_follows_the_421_to_the_accounts_region_and_says_so(fleet_twin: FleetTwin) -> None:
    told: list[tuple[str, str]] = []
    api = fleet_twin.api(2, on_region=lambda region, base: told.append((region, base)))  # demo2 lives in eu
    assert api.region is None
    assert str(api.base_url) == fleet_twin.urls.api["na"]  # Tesla's default until told
    assert await api.discover_region() == "eu"
    assert (api.region, str(api.base_url)) == ("eu", fleet_twin.urls.api["eu"])
    assert told == [("eu", fleet_twin.urls.api["eu"])]
    assert await api.discover_region() == "eu"
    assert len(told) == 1  # nothing changed: not told again


async def test_an_upper_case_region_is_taken_too(fleet_twin: FleetTwin) -> None:
    """One third-party sample shows `"region": "NA"` (research/fleet.md 1.6); the twin says "eu"."""

    async def users_region(request: web.Request) -> web.StreamResponse:
        return web.json_response({"response": {"region": "EU"}})  # the region alone decides

    app = web.Application()
    app.router.add_get("/api/1/users/region", users_region)
    async with served(app) as url:
        hosts = FleetHosts(api={"na": url, "eu": fleet_twin.urls.api["eu"]}, auth=fleet_twin.urls.auth)
        api = fleet_twin.api(2, hosts=hosts)
        assert await api.discover_region() == "eu"
        assert str(api.base_url) == fleet_twin.urls.api["eu"]
        assert [v.vin for v in await api.vehicles()] == [first_car(fleet_twin, 2).vin]


async def test_a_421_switches_host_once_and_is_remembered(fleet_twin: FleetTwin) -> None:
    car = first_car(fleet_twin)
    told: list[str] = []
    api = fleet_twin.api(1, region="na", on_region=lambda region, _: told.append(region))
    vehicle = await api.vehicle(car.vin)
    await fleet_twin.admin("home_region", {"email": fleet_twin.account(1).email, "region": "eu"})
    before = fleet_twin.billed().get("data", 0)
    data = await vehicle.vehicle_data(["charge_state"])
    assert data.battery_level is not None
    assert (api.region, told) == ("eu", ["eu"])
    assert fleet_twin.billed()["data"] - before == 2  # the 421 is billed too: worth remembering
    await vehicle.vehicle_data(["charge_state"])
    assert fleet_twin.billed()["data"] - before == 3  # straight to eu: no second 421
    assert told == ["eu"]


async def test_a_second_421_in_one_call_is_raised_not_followed(fleet_twin: FleetTwin) -> None:
    account = fleet_twin.account(1)
    state = fleet_state(fleet_twin.world)

    def moved_back(region: str, _: str) -> None:
        state.set_home_region(account, "na")  # the account moves again while we switch

    api = fleet_twin.api(1, region="na", on_region=moved_back)
    state.set_home_region(account, "eu")
    with pytest.raises(errors.OutOfRegion) as raised:
        await api.products()
    assert raised.value.status == 421
    assert raised.value.base_url == "https://fleet-api.prd.na.vn.cloud.tesla.com"
    assert api.region == "eu"  # where the first 421 sent us


async def test_a_421_naming_a_host_we_do_not_know_is_not_followed(fleet_twin: FleetTwin) -> None:
    na_only = FleetHosts(api={"na": fleet_twin.urls.api["na"]}, auth=fleet_twin.urls.auth)
    api = fleet_twin.api(2, hosts=na_only)
    with pytest.raises(errors.OutOfRegion) as raised:
        await api.products()
    assert raised.value.base_url == TESLA_EU
    assert "not a configured Fleet host" in str(raised.value)
    assert str(api.base_url) == fleet_twin.urls.api["na"]


async def test_a_rest_command_met_by_a_421_is_sent_once_at_the_new_host(fleet_twin: FleetTwin) -> None:
    old = old_model_s(fleet_twin)
    api = fleet_twin.api(1, region="na")
    vehicle = await api.vehicle(old.vin)
    old.closures.locked = False
    fleet_state(fleet_twin.world).set_home_region(fleet_twin.account(1), "eu")
    before = fleet_twin.billed().get("commands", 0)
    assert (await vehicle.lock())["result"] is True
    assert old.closures.locked is True
    assert api.region == "eu"
    assert fleet_twin.billed()["commands"] - before == 2  # the 421 (nothing ran) and the command


# --- refusals --------------------------------------------------------------------------------------


async def test_an_app_not_registered_in_the_region_is_a_412_with_the_fix(fleet_twin: FleetTwin) -> None:
    fleet_state(fleet_twin.world).add_app(NEW_APP)
    api = fleet_twin.api(1, client_id=NEW_APP.client_id, region="na")
    with pytest.raises(errors.NotRegistered) as raised:
        await api.products()
    assert raised.value.status == 412
    assert "must be registered in the current region" in str(raised.value)
    assert "teslalink fleet register --domain" in str(raised.value)


async def test_location_only_when_asked_and_a_missing_scope_is_named(fleet_twin: FleetTwin) -> None:
    car = first_car(fleet_twin)
    no_location = fleet_twin.api(1, scopes="openid vehicle_device_data", region="na")
    sent = Sent(no_location)
    vehicle = await no_location.vehicle(car.vin)
    data = await vehicle.vehicle_data()
    assert data.battery_level is not None
    assert data.latitude is None
    asked = [params["endpoints"] for _, path, params in sent.calls if path.endswith("/vehicle_data")]
    assert asked == [
        "charge_state;climate_state;closures_state;drive_state;gui_settings;vehicle_config;vehicle_state"
    ]
    with pytest.raises(errors.MissingScopes) as raised:
        await vehicle.vehicle_data(["location_data", "drive_state"])
    assert raised.value.missing == ("vehicle_location",)
    assert "vehicle_location" in str(raised.value)
    assert "teslalink fleet login" in str(raised.value)
    full = fleet_twin.api(1, region="na")
    located = await (await full.vehicle(car.vin)).vehicle_data(["location_data", "drive_state"])
    assert located.latitude is not None


async def test_a_token_without_device_data_is_missing_scopes(fleet_twin: FleetTwin) -> None:
    api = fleet_twin.api(1, scopes="openid vehicle_cmds", region="na")
    with pytest.raises(errors.MissingScopes) as raised:
        await api.fleet_status([first_car(fleet_twin).vin])
    assert raised.value.missing == ("vehicle_device_data",)


async def test_rest_commands_over_fleet_on_a_pre_2021_model_s_and_signing_required_on_a_new_car(
    fleet_twin: FleetTwin,
) -> None:
    api = fleet_twin.api(1, region="na")
    old = old_model_s(fleet_twin)
    old.closures.locked = False
    cars = {v.vin: v for v in await api.vehicles()}
    assert cars[old.vin].raw["command_signing"] == "off"
    assert (await cars[old.vin].lock())["result"] is True
    assert old.closures.locked is True
    modern = first_car(fleet_twin)
    assert cars[modern.vin].raw["command_signing"] == "required"
    with pytest.raises(errors.CommandSigningRequired) as raised:
        await cars[modern.vin].set_charging_amps(16)
    assert raised.value.status == 403
    assert "Vehicle Command Protocol required" in str(raised.value)


async def test_x_txid_is_logged_at_debug_and_the_token_never(
    fleet_twin: FleetTwin, caplog: pytest.LogCaptureFixture
) -> None:
    api = fleet_twin.api(1, region="na")
    token = await api.tokens.access_token()
    with caplog.at_level(logging.DEBUG, logger="teslalink.cloud.fleet.api"):
        await api.products()
    assert any("x-txid" in r.getMessage() for r in caplog.records)
    assert all(token not in r.getMessage() for r in caplog.records)
    assert token not in repr(api)


# --- reads -----------------------------------------------------------------------------------------


async def test_products_vehicles_and_one_vehicle_by_vin_or_id_are_the_owner_api_models(
    fleet_twin: FleetTwin,
) -> None:
    second = fleet_twin.world.add_vehicle(fleet_twin.account(1), model="Y")
    api = fleet_twin.api(1, region="na")
    products = await api.products()
    assert any("energy_site_id" in p for p in products)
    cars = await api.vehicles()
    assert [v.vin for v in cars] == [first_car(fleet_twin).vin, second.vin]
    assert all(isinstance(v, Vehicle) for v in cars)
    sent = Sent(api)
    by_vin = await api.vehicle(second.vin.lower())
    by_id = await api.vehicle(second.id_s)
    assert by_vin.vin == by_id.vin == second.vin
    assert [path for _, path, _ in sent.calls] == [
        f"api/1/vehicles/{second.vin}",
        f"api/1/vehicles/{second.id_s}",
    ]
    other = first_car(fleet_twin, 2)
    with pytest.raises(errors.ConfigError):  # not this account's: listed, not found
        await api.vehicle(other.vin)
    assert isinstance(await by_vin.vehicle_data(["charge_state"]), VehicleData)
    assert fleet_twin.billed().get("data", 0) == 1  # the list and the summaries are free


async def test_vehicles_reads_every_page(fleet_twin: FleetTwin) -> None:
    account = fleet_twin.account(1)
    for _ in range(100):
        fleet_twin.world.add_vehicle(account, model="3", asleep=True)
    api = fleet_twin.api(1, region="na")
    sent = Sent(api)
    cars = await api.vehicles()
    assert [v.vin for v in cars] == [car.vin for car in fleet_twin.world.vehicles_of(account)]
    assert len(cars) == 101
    assert [params["page"] for _, path, params in sent.calls if path.endswith("vehicles")] == [1, 2]


async def test_wake_up_wakes_an_asleep_car_once_and_polls_only_the_free_summary(
    fleet_twin: FleetTwin,
) -> None:
    car = first_car(fleet_twin)
    car.unplug()
    car.fall_asleep()
    api = fleet_twin.api(1, region="na")
    sent = Sent(api)
    vehicle = await api.vehicle(car.vin)
    with pytest.raises(errors.VehicleUnavailable):
        await vehicle.vehicle_data()
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        fleet_twin.world.advance(seconds)
        await asyncio.sleep(0)

    waking = Vehicle(api, vehicle.raw, sleep=sleep, clock=lambda: now[0])
    await waking.wake_up(timeout=300)
    assert waking.state == "online"
    assert car.wake_reasons.get("wake_up") == 1
    paths = [path for _, path, _ in sent.calls]
    assert sum(p.endswith("/wake_up") for p in paths) == 1
    assert fleet_twin.billed()["wakes"] == 1
    assert fleet_twin.billed()["data"] == 1  # the 408 (billed), nothing while waiting
    assert isinstance(await waking.vehicle_data(["charge_state"]), VehicleData)


async def test_fleet_status_before_and_after_pairing(fleet_twin: FleetTwin) -> None:
    car = first_car(fleet_twin)
    api = fleet_twin.api(1, region="na")
    before = await api.fleet_status([car.vin])
    assert (before.paired, before.unpaired) == ((), (car.vin,))
    assert not before.is_paired(car.vin)
    info = before.vehicles[car.vin]
    assert info.vehicle_command_protocol_required is True
    assert info.discounted_device_data is False  # given for a single-VIN call
    assert info.firmware_version
    assert isinstance(info.total_number_of_keys, int)
    registration = fleet_state(fleet_twin.world).registration("na", "7c6a8f4e-teslalink-demo-app")
    assert registration is not None
    await fleet_twin.admin("pair", {"vin": car.vin, "public_key": registration.public_key.hex()})
    after = await api.fleet_status([car.vin])
    assert after.is_paired(car.vin)
    assert after.vehicles[car.vin].total_number_of_keys == info.total_number_of_keys + 1
    with pytest.raises(errors.ConfigError):
        await api.fleet_status([])
    assert fleet_twin.billed() == {}  # fleet_status reaches no car


async def test_energy_site_reads_and_a_setting_over_fleet(fleet_twin: FleetTwin) -> None:
    api = fleet_twin.api(1, region="na")
    (site, *_) = await api.energy_sites()
    live = await site.live_status()
    assert isinstance(live, LiveStatus)
    assert live.percentage_charged is not None
    assert (await site.site_info()).raw
    await site.set_backup_reserve(40)
    model = fleet_twin.world.sites_of(fleet_twin.account(1))[0]
    assert model.site_info()["backup_reserve_percent"] == 40
    assert fleet_twin.billed() == {"data": 2, "commands": 1}


# --- a tesla-http-proxy --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """`app` on a loopback port, its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def forwarding_proxy(target: str, seen: list[str]) -> AsyncIterator[str]:
    """A stand-in for a user's tesla-http-proxy: forwards each request to `target` as it came."""

    async def forward(request: web.Request) -> web.StreamResponse:
        seen.append(f"{request.method} {request.path}")
        headers = {
            "Authorization": request.headers.get("Authorization", ""),
            "Content-Type": "application/json",
        }
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                target.rstrip("/") + request.path_qs,
                headers=headers,
                data=await request.read(),
            ) as answer,
        ):
            return web.Response(
                status=answer.status, body=await answer.read(), content_type="application/json"
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    async with served(app) as url:
        yield url


async def test_rest_commands_go_to_the_command_proxy_and_reads_to_tesla(fleet_twin: FleetTwin) -> None:
    old = old_model_s(fleet_twin)
    old.closures.locked = False
    seen: list[str] = []
    async with forwarding_proxy(fleet_twin.urls.api["na"], seen) as proxy:
        api = fleet_twin.api(1, region="na", command_proxy=proxy)
        vehicle = await api.vehicle(old.vin)
        await vehicle.vehicle_data(["charge_state"])
        assert (await vehicle.lock())["result"] is True
    assert old.closures.locked is True
    assert seen == [f"POST /api/1/vehicles/{old.vin}/command/door_lock"]  # the VIN, as the proxy wants
    assert fleet_twin.billed() == {"data": 1, "commands": 1}
    assert api.billed == {"data": 1, "commands": 1}


# --- the blocking facade ---------------------------------------------------------------------------


async def test_the_blocking_facade_offers_the_fleet_api(fleet_twin: FleetTwin) -> None:
    car = first_car(fleet_twin, 2)
    tokens = StaticToken(fleet_twin.token(fleet_twin.account(2)))

    def script() -> tuple[str, list[str], bool, str]:
        with BlockingFleet(tokens, hosts=fleet_twin.hosts) as fleet:
            region = fleet.discover_region()
            vins = [v.vin for v in fleet.vehicle_list()]
            status = fleet.fleet_status([car.vin])
            return region, vins, status.is_paired(car.vin), fleet.base_url

    region, vins, paired, base = await asyncio.to_thread(script)  # the twin serves on this loop
    assert (region, vins, paired, base) == ("eu", [car.vin], False, fleet_twin.urls.api["eu"])


def test_billing_categories_of_the_fleet_routes() -> None:
    assert billing_category("GET", "/api/1/vehicles/5YJ3/vehicle_data") == "data"
    assert billing_category("POST", "/api/1/vehicles/5YJ3/wake_up") == "wakes"
    assert billing_category("POST", "/api/1/vehicles/5YJ3/command/door_lock") == "commands"
    assert billing_category("POST", "/api/1/vehicles/5YJ3/signed_command") == "commands"
    assert billing_category("GET", "/api/1/energy_sites/12/live_status") == "data"
    assert billing_category("POST", "/api/1/energy_sites/12/backup") == "commands"
    for method, path in (
        ("GET", "/api/1/products"),
        ("GET", "/api/1/vehicles"),
        ("GET", "/api/1/vehicles/5YJ3"),
        ("POST", "/api/1/vehicles/fleet_status"),
        ("GET", "/api/1/users/region"),
        ("POST", "/api/1/partner_accounts"),
    ):
        assert billing_category(method, path) is None, path


async def test_a_fleet_login_cannot_stream_and_says_why_before_connecting(fleet_twin: FleetTwin) -> None:
    api = fleet_twin.api(1)
    car = await api.vehicle(first_car(fleet_twin).vin)
    with pytest.raises(errors.ConfigError, match=r"cannot stream: Tesla.s streaming server"):
        car.stream()
