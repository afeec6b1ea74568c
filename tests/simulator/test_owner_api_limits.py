"""Rate limits (429 + Retry-After, punishment), accounting by Fleet API category, faults, admin."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from teslalink.errors import ConfigError
from teslalink.simulator import World
from teslalink.simulator.accounts import Account
from teslalink.simulator.faults import (
    NO_FAULT,
    SERVER_ERROR_STATUSES,
    FaultAction,
    Faults,
    FaultSpec,
    fault_response,
)
from teslalink.simulator.owner_api import RateLimiter, RateLimits
from teslalink.simulator.vehicle.car import Car

from .test_owner_api import PASSWORD, Api, start_api


@dataclass
class Setup:
    world: World
    owner: Account
    car: Car
    second: Car
    sleeper: Car
    api: Api


async def _setup(world: World, **options: object) -> tuple[Setup, list[object]]:
    owner = world.add_account("owner@example.com", PASSWORD)
    car = world.add_vehicle(owner)
    second = world.add_vehicle(owner)
    sleeper = world.add_vehicle(owner, asleep=True)
    server, session, api = await start_api(world, **options)
    api.login(owner)
    return Setup(world, owner, car, second, sleeper, api), [session, server]


async def _close(things: list[object]) -> None:
    session, server = things
    assert isinstance(session, aiohttp.ClientSession)
    await session.close()
    await server.close()  # type: ignore[attr-defined]


@pytest.fixture
async def limited(world: World) -> AsyncIterator[Setup]:
    setup, things = await _setup(
        world, rate_limits=RateLimits(per_vehicle_per_min=3, per_account_per_min=10, retry_after_s=60)
    )
    try:
        yield setup
    finally:
        await _close(things)


@pytest.fixture
async def plain(world: World) -> AsyncIterator[Setup]:
    setup, things = await _setup(world)
    try:
        yield setup
    finally:
        await _close(things)


# --- rate limits ---------------------------------------------------------------------------------


async def test_429_with_retry_after_when_a_vehicle_is_polled_too_often(limited: Setup) -> None:
    api, car = limited.api, limited.car
    path = f"api/1/vehicles/{car.id}"
    assert [(await api.get(path)).status for _ in range(3)] == [200, 200, 200]
    refused = await api.get(path)
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.text == "Retry in 60 seconds\n"
    assert (await api.get(f"api/1/vehicles/{limited.second.id}")).status == 200  # other cars are fine
    limited.world.advance(60)
    assert (await api.get(path)).status == 200  # waited as told: served again


async def test_hammering_after_a_429_extends_the_block(limited: Setup) -> None:
    api, path = limited.api, f"api/1/vehicles/{limited.car.id}"
    for _ in range(3):
        await api.get(path)
    assert (await api.get(path)).headers["Retry-After"] == "60"
    retry_afters = []
    for _ in range(4):  # the client ignores Retry-After and retries every 10 s
        limited.world.advance(10)
        reply = await api.get(path)
        assert reply.status == 429
        retry_afters.append(int(reply.headers["Retry-After"]))
    assert retry_afters == [120, 240, 480, 960]
    limited.world.advance(900)
    again = await api.get(path)  # still blocked (960 s had not passed): and longer now
    assert again.status == 429
    assert again.headers["Retry-After"] == "1920"
    limited.world.advance(1920)
    assert (await api.get(path)).status == 200


async def test_account_limit_counts_every_endpoint(limited: Setup) -> None:
    api = limited.api
    statuses = []
    for i in range(11):
        car = (limited.car, limited.second, limited.sleeper)[i % 3]
        path = "api/1/products" if i % 2 else f"api/1/vehicles/{car.id}"
        statuses.append((await api.get(path)).status)
    assert statuses == [200] * 10 + [429]


def test_rate_limiter_window_slides_in_world_time() -> None:
    limiter = RateLimiter(RateLimits(per_vehicle_per_min=2, retry_after_s=30))
    key = [("v", 2)]
    assert limiter.admit(key, 0.0) is None
    assert limiter.admit(key, 30.0) is None
    assert limiter.admit(key, 59.0) == 30.0
    assert limiter.blocked_until("v") == 89.0
    assert limiter.admit(key, 89.0) is None  # the request at 0 left the window at 60
    assert limiter.admit([("v", None)], 89.5) is None  # no limit: never refused
    with pytest.raises(ConfigError):
        RateLimits(per_vehicle_per_min=0)
    with pytest.raises(ConfigError):
        RateLimits.parse("vehicles=3")
    parsed = RateLimits.parse("vehicle=30, account=120, retry_after=300, penalty=3, max_block=7200")
    assert parsed == RateLimits(30, 120, 300.0, 3.0, 7200.0)
    assert parsed.enabled
    assert not RateLimits().enabled


# --- accounting ------------------------------------------------------------------------------------


async def test_accounting_by_category_and_vehicle(plain: Setup) -> None:
    api, car, sleeper, world = plain.api, plain.car, plain.sleeper, plain.world
    await api.get("api/1/products")  # account level: not billed
    await api.get("api/1/vehicles")  # 412: not billed
    await api.get(f"api/1/vehicles/{car.id}")  # data
    await api.get(f"api/1/vehicles/{car.id}/vehicle_data")  # data
    await api.get(f"api/1/vehicles/{sleeper.id}/vehicle_data")  # 408: billed data
    await api.post(f"api/1/vehicles/{car.id}/command/flash_lights")  # command
    await api.post(f"api/1/vehicles/{car.id}/command/nope")  # 404: billed command
    await api.post(f"api/1/vehicles/{sleeper.id}/wake_up")  # wake
    await api.get(f"api/1/vehicles/{car.id}", token="expired-or-bad")  # 401: nobody to bill
    snapshot = world.accounting.snapshot()
    assert snapshot["totals"] == {"data": 3, "command": 2, "wake": 1, "streaming_signal": 0}
    by_vehicle = snapshot["by_vehicle"]
    assert isinstance(by_vehicle, dict)
    assert by_vehicle[str(car.id)] == {"data": 2, "command": 2, "wake": 0, "streaming_signal": 0}
    assert by_vehicle[str(sleeper.id)] == {"data": 1, "command": 0, "wake": 1, "streaming_signal": 0}
    assert snapshot["unbilled_5xx"] == 0


async def test_429s_are_billed_and_injected_5xx_are_not(world: World) -> None:
    faults = Faults(world.seed)
    setup, things = await _setup(world, faults=faults, rate_limits=RateLimits(per_vehicle_per_min=1))
    try:
        path = f"api/1/vehicles/{setup.car.id}/vehicle_data"
        assert (await setup.api.get(path)).status == 200
        assert (await setup.api.get(path)).status == 429
        faults.set("owner_api", "5xx=1")
        failed = await setup.api.get(path)
        assert failed.status in SERVER_ERROR_STATUSES
        snapshot = world.accounting.snapshot()
        assert snapshot["totals"]["data"] == 2  # type: ignore[index]
        assert snapshot["unbilled_5xx"] == 1
    finally:
        await _close(things)


async def test_admin_accounting_advance_and_world(plain: Setup) -> None:
    api, world = plain.api, plain.world
    await api.post(f"api/1/vehicles/{plain.sleeper.id}/wake_up")
    before = world.now()
    advanced = await api.post("_twin/advance", json={"seconds": 45}, token="")
    assert advanced.status == 200
    assert world.now() == pytest.approx(before + 45)
    assert (await api.post("_twin/advance", json={"seconds": -1}, token="")).status == 400
    assert (await api.post("_twin/advance", json={"seconds": "x"}, token="")).status == 400
    assert (await api.post("_twin/advance", data=b"{", token="")).status == 400
    report = (await api.get("_twin/accounting", token="")).json
    assert report["totals"]["wake"] == 1
    vehicle = report["vehicles"][str(plain.sleeper.id)]
    assert vehicle["state"] == "online"
    assert vehicle["wake_count"] == 1
    assert vehicle["wake_reasons"] == {"wake_up": 1}
    assert vehicle["awake_seconds"] > 0
    info = (await api.get("_twin/world", token="")).json
    assert info == {"seed": world.seed, "speed": 0.0, "now": pytest.approx(world.now())}


# --- faults ------------------------------------------------------------------------------------------


def test_fault_specs_parse_print_and_refuse_nonsense() -> None:
    faults = Faults.parse("latency=0.2,5xx=0.05,429=0.02,drop=0.01,owner_api.5xx=0.5,sso.latency=0.1-0.3")
    assert faults.spec("streaming") == FaultSpec((0.2, 0.2), 0.05, 0.02, 0.01)
    assert faults.spec("owner_api").error_rate == 0.5
    assert faults.spec("sso").latency_s == (0.1, 0.3)
    again = Faults.parse(faults.to_spec())
    assert again.specs == faults.specs
    assert Faults.parse("").specs == {}
    assert FaultSpec(retry_after_s=5).to_spec() == "retry_after=5"
    for bad in ("5xx", "5xx=2", "latency=0.5-0.1", "teapot=1", "moon.5xx=0.1", "drop=x", "retry_after=1.5"):
        with pytest.raises(ConfigError):
            Faults.parse(bad)
    with pytest.raises(ConfigError):
        faults.set("owner_api", "sso.5xx=0.1")
    with pytest.raises(ConfigError):
        faults.decide("bluetooth")


def test_fault_decisions_are_seeded_and_per_surface() -> None:
    def draws(seed: int, noise: bool) -> list[FaultAction]:
        faults = Faults.parse("5xx=0.3,429=0.3,drop=0.2,latency=0-1", seed=seed)
        out = []
        for _ in range(50):
            if noise:
                faults.decide("sso")  # traffic on another surface
            out.append(faults.decide("owner_api"))
        return out

    first = draws(3, noise=False)
    assert first == draws(3, noise=True)
    assert first != draws(4, noise=False)
    kinds = {("drop" if a.drop else a.status) for a in first}
    assert {"drop", 429} <= kinds
    assert kinds & set(SERVER_ERROR_STATUSES)
    assert Faults().decide("owner_api") is NO_FAULT


def test_listeners_hear_changes() -> None:
    faults = Faults()
    heard: list[tuple[str, str]] = []

    def listener(surface: str, spec: FaultSpec) -> None:
        heard.append((surface, spec.to_spec()))

    faults.add_listener(listener)
    faults.set("wall_connector", "drop=0.1")
    faults.clear()
    faults.remove_listener(listener)
    faults.set("sso", "drop=0.1")
    assert heard[0] == ("wall_connector", "drop=0.1")
    assert ("wall_connector", "") in heard[1:]
    assert len(heard) == 1 + 4


async def test_injected_faults_on_the_wire(plain: Setup) -> None:
    api = plain.api
    faults: Faults = api.app_state.faults
    path = f"api/1/vehicles/{plain.car.id}"

    faults.set("owner_api", "429=1,retry_after=7")
    limited = await api.get(path)
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.text == "Retry in 7 seconds\n"

    faults.set("owner_api", "5xx=1")
    seen = set()
    for _ in range(30):
        reply = await api.get(path)
        assert reply.json["response"] is None
        assert reply.json["error"]
        seen.add(reply.status)
    assert seen == set(SERVER_ERROR_STATUSES)

    faults.set("owner_api", "drop=1")
    with pytest.raises(aiohttp.ClientError):
        await api.get(path)

    # the admin endpoints are never faulted, and can switch faults off
    cleared = await api.post("_twin/faults", json={"surface": None, "spec": ""}, token="")
    assert cleared.status == 200
    assert cleared.json["owner_api"] == ""
    assert (await api.get(path)).status == 200

    faults.set("owner_api", "latency=0.15")
    started = time.monotonic()
    assert (await api.get(path)).status == 200
    assert time.monotonic() - started >= 0.14
    assert (await api.get("_twin/faults", token="")).json["owner_api"] == "latency=0.15"
    bad = await api.post("_twin/faults", json={"surface": "owner_api", "spec": "5xx=7"}, token="")
    assert bad.status == 400


async def test_faults_for_other_consumers() -> None:
    action = FaultAction(delay_s=0.01, status=503)
    started = time.monotonic()
    await action.wait()
    assert time.monotonic() - started >= 0.009
    assert action.fails
    assert not NO_FAULT.fails
    response = fault_response(action)
    assert response is not None
    assert response.status == 503
    assert fault_response(NO_FAULT) is None


async def test_admin_endpoints_refuse_other_hosts(world: World) -> None:
    from aiohttp.test_utils import make_mocked_request

    from teslalink.simulator.owner_api import OWNER_API, create_owner_api_app
    from teslalink.simulator.owner_api.admin import accounting

    app = create_owner_api_app(world)
    for peer, status in ((("192.0.2.7", 5555), 403), (("127.0.0.1", 5555), 200), (("::1", 5555, 0, 0), 200)):
        transport = type("T", (), {"get_extra_info": lambda self, name, default=None, p=peer: p})()
        request = make_mocked_request("GET", "/_twin/accounting", app=app, transport=transport)
        assert request.app[OWNER_API].world is world
        assert (await accounting(request)).status == status, peer
