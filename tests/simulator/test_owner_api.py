"""The Owner API twin over loopback: auth, products, vehicles, commands, and their error answers.

The world's clock only moves by advance(); tokens come from world.auth.issue (the SSO dance has
its own tests). The helpers here are shared by the other test_owner_api_* modules.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from teslalink.simulator import World
from teslalink.simulator.accounts import Account
from teslalink.simulator.faults import Faults
from teslalink.simulator.owner_api import OWNER_API, RateLimits, create_owner_api_app, link_wall_connector
from teslalink.simulator.owner_api.bodies import FLEET_ONLY, VEHICLE_UNAVAILABLE
from teslalink.simulator.vehicle.car import Car

FIXTURES = Path(__file__).parent.parent / "fixtures" / "owner_api"
PASSWORD = "correct horse"


@dataclass
class Reply:
    status: int
    headers: Any
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """A bare HTTP client for the twin: no retries, no parsing beyond what a test asks for."""

    def __init__(self, server: TestServer, session: aiohttp.ClientSession, world: World) -> None:
        self.server = server
        self.session = session
        self.world = world
        self.token: str | None = None

    @property
    def base(self) -> str:
        return str(self.server.make_url("/"))

    def login(self, account: Account) -> str:
        self.token = str(self.world.auth.issue(account)["access_token"])
        return self.token

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        sent = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer is not None and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {bearer}"
        async with self.session.request(method, self.base + path.lstrip("/"), headers=sent, **kwargs) as r:
            return Reply(r.status, r.headers, await r.text())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.call("POST", path, **kwargs)

    @property
    def app_state(self) -> Any:
        return self.server.app[OWNER_API]


@dataclass
class Env:
    world: World
    owner: Account
    other: Account
    car: Car
    sleeper: Car
    api: Api


async def start_api(world: World, **options: Any) -> tuple[TestServer, aiohttp.ClientSession, Api]:
    server = TestServer(create_owner_api_app(world, **options))
    await server.start_server()
    session = aiohttp.ClientSession()
    return server, session, Api(server, session, world)


@pytest.fixture
async def env(world: World) -> AsyncIterator[Env]:
    owner = world.add_account("owner@example.com", PASSWORD)
    other = world.add_account("other@example.com", PASSWORD)
    car = world.add_vehicle(owner, display_name="Awake")
    sleeper = world.add_vehicle(owner, display_name="Sleepy", asleep=True)
    world.add_vehicle(other, display_name="Theirs")
    server, session, api = await start_api(world)
    api.login(owner)
    try:
        yield Env(world, owner, other, car, sleeper, api)
    finally:
        await session.close()
        await server.close()


def error_body(error: str) -> dict[str, Any]:
    return {"response": None, "error": error, "error_description": ""}


# --- auth ----------------------------------------------------------------------------------------


async def test_missing_credentials_is_401_without_a_body(env: Env) -> None:
    reply = await env.api.get("api/1/products", token="")
    assert reply.status == 401
    assert reply.text == ""
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="Doorkeeper"'
    basic = await env.api.get("api/1/products", headers={"Authorization": "Basic b3duZXI6cHc="})
    assert basic.status == 401


async def test_invalid_expired_and_revoked_tokens_are_401(env: Env) -> None:
    bad = await env.api.get("api/1/products", token="not-a-jwt")
    assert bad.status == 401
    assert bad.json == {"error": "invalid bearer token"}
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]

    env.world.advance(env.world.auth.access_lifetime_s + 1)
    expired = await env.api.get("api/1/products")
    assert expired.status == 401
    assert expired.json == {"error": "token expired (401)"}
    assert "expired" in expired.headers["WWW-Authenticate"]

    env.api.login(env.owner)
    env.world.auth.revoke_all(env.owner)
    revoked = await env.api.get("api/1/products")
    assert revoked.status == 401
    assert revoked.json == {"error": "invalid bearer token"}
    assert "revoked" in revoked.headers["WWW-Authenticate"]


async def test_status_needs_no_token(env: Env) -> None:
    reply = await env.api.get("status", token="")
    assert reply.status == 200
    assert reply.text == "ok"


# --- products and the vehicle list --------------------------------------------------------------


async def test_products_list_the_accounts_cars_sites_and_wall_connectors(env: Env) -> None:
    site = env.world.add_energy_site(env.owner)
    unit = env.world.add_wall_connector()
    link = link_wall_connector(env.world, env.owner, unit)
    env.world.add_energy_site(env.other)
    reply = await env.api.get("api/1/products")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    body = reply.json
    products = body["response"]
    assert body["count"] == len(products) == 4
    cars = [p for p in products if "vehicle_id" in p]
    assert [c["id"] for c in cars] == [env.car.id, env.sleeper.id]
    assert cars[0] == env.car.summary()
    assert cars[1]["state"] == "asleep"
    sites = [p for p in products if p.get("resource_type") == "battery"]
    assert [s["energy_site_id"] for s in sites] == [site.energy_site_id]
    chargers = [p for p in products if p.get("resource_type") == "wall_connector"]
    assert chargers[0]["energy_site_id"] == link.energy_site_id
    assert chargers[0]["components"]["wall_connectors"][0]["din"].endswith(unit.serial)
    assert link_wall_connector(env.world, env.owner, unit) is link  # linking again is idempotent


async def test_vehicle_list_is_fleet_api_only(env: Env) -> None:
    reply = await env.api.get("api/1/vehicles")
    assert reply.status == 412
    assert reply.json == error_body(FLEET_ONLY)


async def test_summary_by_id_or_id_s_and_404s(env: Env) -> None:
    by_id = await env.api.get(f"api/1/vehicles/{env.car.id}")
    assert by_id.status == 200
    assert by_id.json["response"]["id_s"] == str(env.car.id)
    for unknown in ("12345", env.car.vin, str(env.car.vehicle_id), "abc"):
        reply = await env.api.get(f"api/1/vehicles/{unknown}")
        assert reply.status == 404, unknown
        assert reply.json == error_body("not_found")
    theirs = env.world.vehicles_of(env.other)[0]
    foreign = await env.api.get(f"api/1/vehicles/{theirs.id}/vehicle_data")
    assert foreign.status == 404
    assert foreign.json == error_body("not_found")


async def test_unrouted_paths_are_json_404s(env: Env) -> None:
    reply = await env.api.get("api/1/nothing/here")
    assert reply.status == 404
    assert reply.json == error_body("not_found")


async def test_listing_and_summaries_never_wake_or_keep_a_car_awake(env: Env) -> None:
    """A logger polling products and the summary every 30 s: the awake car still falls asleep."""
    world, car, sleeper = env.world, env.car, env.sleeper
    asleep_at = None
    for step in range(60):  # 30 minutes
        products = await env.api.get("api/1/products")
        summary = await env.api.get(f"api/1/vehicles/{car.id}")
        sleepy = await env.api.get(f"api/1/vehicles/{sleeper.id}")
        assert products.status == summary.status == sleepy.status == 200
        assert sleepy.json["response"]["state"] == "asleep"
        if asleep_at is None and summary.json["response"]["state"] == "asleep":
            asleep_at = step * 30
        world.advance(30)
    assert asleep_at is not None
    assert car.idle_sleep_s <= asleep_at <= car.idle_sleep_s + 30
    assert sleeper.wake_count == 0
    assert car.wake_count == 0


# --- vehicle_data, wake_up ------------------------------------------------------------------------


async def test_vehicle_data_408_while_asleep_with_the_exact_body(env: Env) -> None:
    reply = await env.api.get(f"api/1/vehicles/{env.sleeper.id}/vehicle_data")
    assert reply.status == 408
    assert reply.text == (
        '{"response":null,"error":"vehicle unavailable: {:error=>\\"vehicle unavailable:\\"}",'
        '"error_description":""}'
    )
    assert reply.json["error"] == VEHICLE_UNAVAILABLE
    assert env.sleeper.state == "asleep"


async def test_vehicle_data_endpoints_and_it_keeps_the_car_awake(env: Env) -> None:
    car = env.car
    path = f"api/1/vehicles/{car.id}/vehicle_data"
    reply = await env.api.get(path, params={"endpoints": "charge_state;location_data"})
    assert reply.status == 200
    data = reply.json["response"]
    assert "charge_state" in data
    assert "drive_state" in data
    assert "climate_state" not in data
    assert "latitude" in data["drive_state"]
    everything = (await env.api.get(path)).json["response"]
    assert "latitude" not in everything["drive_state"]  # location only when asked for
    for _ in range(8):  # polled every 5 minutes for 40 minutes: never falls asleep
        env.world.advance(300)
        assert (await env.api.get(path)).status == 200
    assert car.state == "online"
    assert car.sleep_count == 0


async def test_vehicle_data_matches_the_fixture_keys(env: Env) -> None:
    fixture = json.loads((FIXTURES / "vehicle_data_model3_charging_fast.json").read_text())
    fixture = fixture.get("response", fixture)
    reply = await env.api.get(
        f"api/1/vehicles/{env.car.id}/vehicle_data",
        params={
            "endpoints": "charge_state;climate_state;drive_state;gui_settings;vehicle_config;vehicle_state"
        },
    )
    data = reply.json["response"]
    for block in ("charge_state", "climate_state", "gui_settings", "vehicle_config"):
        assert set(fixture[block]) <= set(data[block]), block


async def test_wake_up_answers_at_once_and_the_car_is_online_in_10_to_30_s(env: Env) -> None:
    sleeper = env.sleeper
    reply = await env.api.post(f"api/1/vehicles/{sleeper.id}/wake_up")
    assert reply.status == 200
    assert reply.json["response"]["state"] == "asleep"
    assert reply.json["response"]["id"] == sleeper.id
    states = []
    for _ in range(16):  # poll the summary every 2 s, as clients do
        env.world.advance(2)
        states.append((await env.api.get(f"api/1/vehicles/{sleeper.id}")).json["response"]["state"])
    online_after = 2 * (states.index("online") + 1)
    assert 10 <= online_after <= 32
    assert all(s == "asleep" for s in states[: states.index("online")])
    assert sleeper.wake_reasons.get("wake_up") == 1
    assert (await env.api.get(f"api/1/vehicles/{sleeper.id}/vehicle_data")).status == 200


async def test_offline_car_stays_offline_and_408s(env: Env) -> None:
    env.car.go_offline()
    woken = await env.api.post(f"api/1/vehicles/{env.car.id}/wake_up")
    assert woken.json["response"]["state"] == "offline"
    assert (await env.api.get(f"api/1/vehicles/{env.car.id}/vehicle_data")).status == 408
    assert (await env.api.post(f"api/1/vehicles/{env.car.id}/command/honk_horn")).status == 408


async def test_in_service_is_405(env: Env) -> None:
    env.car.enter_service()
    summary = await env.api.get(f"api/1/vehicles/{env.car.id}")
    assert summary.json["response"]["in_service"] is True
    for method, path in (
        ("GET", "vehicle_data"),
        ("POST", "command/flash_lights"),
        ("GET", "mobile_enabled"),
        ("GET", "nearby_charging_sites"),
    ):
        reply = await env.api.call(method, f"api/1/vehicles/{env.car.id}/{path}")
        assert reply.status == 405, path
        assert reply.json == error_body("vehicle is currently in service")
    service = await env.api.get(f"api/1/vehicles/{env.car.id}/service_data")
    assert service.json["response"]["service_status"] == "in_service"
    scheduling = (await env.api.get("api/1/users/service_scheduling_data")).json["response"]
    visit = next(v for v in scheduling["enabled_vins"] if v["vin"] == env.car.vin)
    assert visit["next_appt_timestamp"] is not None


async def test_mobile_access_disabled_is_405_and_mobile_enabled_says_false(env: Env) -> None:
    env.owner.mobile_access = False
    data = await env.api.get(f"api/1/vehicles/{env.car.id}/vehicle_data")
    assert data.status == 405
    assert data.json == error_body("mobile_access_disabled")
    command = await env.api.post(f"api/1/vehicles/{env.car.id}/command/flash_lights")
    assert command.json == error_body("mobile_access_disabled")
    enabled = await env.api.get(f"api/1/vehicles/{env.car.id}/mobile_enabled")
    assert enabled.status == 200
    assert enabled.json == {"response": False}


async def test_small_read_endpoints(env: Env) -> None:
    car, sleeper = env.car, env.sleeper
    assert (await env.api.get(f"api/1/vehicles/{car.id}/mobile_enabled")).json == {"response": True}
    nearby = (await env.api.get(f"api/1/vehicles/{car.id}/nearby_charging_sites")).json["response"]
    assert nearby["superchargers"]
    assert nearby["destination_charging"]
    assert (await env.api.get(f"api/1/vehicles/{sleeper.id}/nearby_charging_sites")).status == 408
    assert (await env.api.get(f"api/1/vehicles/{sleeper.id}/mobile_enabled")).status == 408
    # answered by the cloud: fine while asleep, and the car sleeps on
    for path in ("service_data", "release_notes"):
        reply = await env.api.get(f"api/1/vehicles/{sleeper.id}/{path}")
        assert reply.status == 200, path
    history = await env.api.post(f"api/1/vehicles/{sleeper.id}/charge_history")
    assert history.json["response"]["screen_title"] == "Charging History"
    assert sleeper.state == "asleep"
    assert sleeper.wake_count == 0


async def test_orders_service_scheduling_and_notification_confirmations(env: Env) -> None:
    orders = (await env.api.get("api/1/users/orders")).json["response"]
    assert sorted(o["vin"] for o in orders) == sorted([env.car.vin, env.sleeper.vin])
    scheduling = (await env.api.get("api/1/users/service_scheduling_data")).json
    fixture = json.loads((FIXTURES / "service_scheduling_data.json").read_text())
    assert set(scheduling) == set(fixture) == {"response"}
    entry = scheduling["response"]["enabled_vins"][0]
    assert set(entry) == set(fixture["response"]["enabled_vins"][0])
    confirmed = await env.api.post("api/1/notification_confirmations", json={"notification_id": "n1"})
    assert confirmed.status == 200
    assert confirmed.json == {"response": True}


# --- commands ------------------------------------------------------------------------------------


async def test_commands_answer_result_and_reason(env: Env) -> None:
    car = env.car
    base = f"api/1/vehicles/{car.id}/command"
    ok = await env.api.post(f"{base}/set_charge_limit", json={"percent": 90})
    assert ok.status == 200
    assert ok.json == {"response": {"result": True, "reason": ""}}
    assert car.charge_limit_soc == 90
    again = await env.api.post(f"{base}/set_charge_limit", json={"percent": 90})
    assert again.json["response"] == {"result": False, "reason": "already_set"}
    form = await env.api.post(f"{base}/set_charge_limit", data={"percent": "85"})
    assert form.json["response"]["result"] is True
    assert car.charge_limit_soc == 85
    media = await env.api.post(f"{base}/media_toggle_playback")
    assert media.json["response"] == {"result": False, "reason": "user_not_present"}
    bad = await env.api.post(
        f"{base}/set_charge_limit", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status == 400


async def test_command_errors_unknown_asleep_signing(env: Env) -> None:
    unknown = await env.api.post(f"api/1/vehicles/{env.car.id}/command/warp_drive")
    assert unknown.status == 404
    assert unknown.json == error_body("not_found")
    asleep = await env.api.post(f"api/1/vehicles/{env.sleeper.id}/command/honk_horn")
    assert asleep.status == 408
    assert asleep.json["error"] == VEHICLE_UNAVAILABLE
    assert env.sleeper.state == "asleep"  # a command does not wake the car

    env.car.signed_commands_required = True
    signed = await env.api.post(f"api/1/vehicles/{env.car.id}/command/honk_horn")
    assert signed.status == 403
    assert signed.json["error"].startswith("Tesla Vehicle Command Protocol required, please refer to")
    assert "developer.tesla.com" in signed.json["error"]
    # reads still work on such a car
    assert (await env.api.get(f"api/1/vehicles/{env.car.id}/vehicle_data")).status == 200


async def test_world_level_signing_mode(env: Env) -> None:
    env.api.app_state.require_signed_commands = True
    signed = await env.api.post(f"api/1/vehicles/{env.car.id}/command/flash_lights")
    assert signed.status == 403
    assert (await env.api.post(f"api/1/vehicles/{env.car.id}/command/nope")).status == 404
    env.car.enter_service()
    assert (await env.api.post(f"api/1/vehicles/{env.car.id}/command/flash_lights")).status == 405


async def test_cn_accounts_are_pointed_at_the_cn_docs(world: World) -> None:
    account = world.add_account("cn@example.cn", PASSWORD, region="cn")
    car = world.add_vehicle(account, signed_commands_required=True)
    server, session, api = await start_api(world)
    try:
        api.login(account)
        reply = await api.post(f"api/1/vehicles/{car.id}/command/honk_horn")
        assert reply.status == 403
        assert "developer.tesla.cn" in reply.json["error"]
    finally:
        await session.close()
        await server.close()


async def test_app_options_are_kept_on_the_api_object(world: World) -> None:
    faults = Faults.parse("latency=0", seed=world.seed)
    app = create_owner_api_app(
        world, faults=faults, rate_limits=RateLimits(per_vehicle_per_min=3), require_signed_commands=True
    )
    api = app[OWNER_API]
    assert api.faults is faults
    assert api.rate_limits.per_vehicle_per_min == 3
    assert api.require_signed_commands is True
    assert "OwnerApi(" in repr(api)


async def test_a_locked_account_gets_423_until_unlocked(env: Env) -> None:
    env.api.app_state.lock(env.owner)
    locked = await env.api.get("api/1/products")
    assert locked.status == 423
    assert locked.json == error_body("account_locked")
    assert (await env.api.get(f"api/1/vehicles/{env.car.id}")).status == 423
    env.api.app_state.lock(env.owner, locked=False)
    assert (await env.api.get("api/1/products")).status == 200
