"""What the FleetApi tests share: the served Fleet twin as a `FleetTwin` (its URLs as a client's
`FleetHosts`, tokens, `FleetApi` clients, the twin's billing in our category names), cars, and
the fixtures that serve it (imported by each test module: a conftest.py here would shadow the
top-level `conftest` that other tests import from)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from teslalink.cloud.fleet.api import FleetApi
from teslalink.cloud.fleet.hosts import FleetHosts
from teslalink.cloud.provider import StaticToken
from teslalink.simulator import World, populate_demo
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.accounts import Account
from teslalink.simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, populate_fleet_demo, regions
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.surface import Surface
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec

ALL_SCOPES = " ".join(regions.ALL_SCOPES)
START = 1_780_000_000.0  # 2026-05-28 UTC: a fixed world clock
OUR_CATEGORY = {
    BillingCategory.DATA: "data",
    BillingCategory.COMMAND: "commands",
    BillingCategory.WAKE: "wakes",
    BillingCategory.STREAMING_SIGNAL: "signals",
}


@dataclass
class FleetTwin:
    """The running Fleet twin, its URLs as a client's `FleetHosts`, and the clients a test opened."""

    world: World
    urls: FleetUrls
    surfaces: list[Surface]
    hosts: FleetHosts = field(init=False)
    opened: list[FleetApi] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hosts = FleetHosts(api=dict(self.urls.api), auth=self.urls.auth)

    def account(self, n: int) -> Account:
        return self.world.account(f"demo{n}@teslalink.test")

    def token(self, account: Account, scopes: str = ALL_SCOPES, client_id: str = DEMO_APP.client_id) -> str:
        body = authority_of(self.world).issue_user_token(
            account, client_id=client_id, scopes=tuple(scopes.split())
        )
        return str(body["access_token"])

    def api(
        self,
        n: int = 1,
        *,
        scopes: str = ALL_SCOPES,
        client_id: str = DEMO_APP.client_id,
        hosts: FleetHosts | None = None,
        **options: Any,
    ) -> FleetApi:
        """A FleetApi for demo`n` (closed at the test's end)."""
        tokens = StaticToken(self.token(self.account(n), scopes, client_id))
        api = FleetApi(hosts or self.hosts, tokens, **options)
        self.opened.append(api)
        return api

    def billed(self) -> dict[str, int]:
        """The twin's own billing counters, in our category names."""
        return {OUR_CATEGORY[c]: n for c, n in self.world.accounting.totals.items() if n}

    async def admin(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST the twin's `/_twin/fleet/<name>` admin endpoint (pair, home_region...)."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.urls.auth + "_twin/fleet/" + name, json=body) as reply,
        ):
            assert reply.status == 200, await reply.text()
            found: dict[str, Any] = await reply.json()
            return found


def first_car(twin: FleetTwin, n: int = 1) -> Car:
    return twin.world.vehicles_of(twin.account(n))[0]


def old_model_s(twin: FleetTwin, n: int = 1) -> Car:
    """A 2019 Model S: `command_signing` off, REST commands accepted (research/fleet.md 2.11)."""
    return twin.world.add_vehicle(
        twin.account(n), model="S", vin=make_vin(model_spec("S"), 2019, random.Random(3))
    )


@pytest.fixture(name="demo_fleet_world")
def demo_fleet_world_fixture() -> World:
    """The demo world (demo1 in na, demo2 in eu, demo3 in cn; the demo app registered everywhere),
    its clock moved only by advance(). A test may change it before `fleet_twin` serves it."""
    world = World(seed=17, speed=0.0, start=START)
    populate_demo(world)
    populate_fleet_demo(world)
    return world


@pytest.fixture(name="fleet_surfaces_of")
def fleet_surfaces_of_fixture(demo_fleet_world: World) -> list[Surface]:
    """The Fleet twin's surfaces before they are served (a test may add to a host's middlewares)."""
    return fleet_surfaces(demo_fleet_world)


@pytest.fixture(name="fleet_twin")
async def fleet_twin_fixture(
    demo_fleet_world: World, fleet_surfaces_of: list[Surface]
) -> AsyncIterator[FleetTwin]:
    async with serve_cloud(demo_fleet_world, surfaces=fleet_surfaces_of) as cloud:
        twin = FleetTwin(demo_fleet_world, FleetUrls.of(cloud.extra), fleet_surfaces_of)
        try:
            yield twin
        finally:
            for api in twin.opened:
                await api.close()
