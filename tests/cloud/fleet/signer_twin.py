"""The served Fleet twin for the signer and routing tests, and the Fleet API link a FleetApi would be.

`SignerTwin` is the demo world (demo1 in na, demo2 in eu; the demo app registered everywhere, a
Model S with a sun roof beside demo1's charging Model 3) served on loopback, with what a test
needs: a paired key, a user token, the twin's billing counter of commands. `Link` holds the real
HTTP transport, the region's base URL and the token, counts what its `count_billable` hears, and
`follow_region` switches from Tesla's URL to the twin's host of that region (as FleetApi does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from yarl import URL

from teslalink._http import Transport as HttpTransport
from teslalink.cloud.fleet.signer import VcpSigner
from teslalink.cloud.provider import StaticToken
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator import World, populate_demo
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.accounts import Account
from teslalink.simulator.fleet import (
    DEMO_APP,
    FLEET_BASE_URLS,
    FleetRegion,
    FleetUrls,
    fleet_surfaces,
    pair,
    populate_fleet_demo,
    regions,
)
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.car import Car

START = 1_760_000_000.0
SEED = 11


def demo_world(seed: int = SEED) -> World:
    """The demo world plus demo1's second car, a 2024 Model S (sun roof), awake and unplugged."""
    world = World(seed=seed, speed=0.0, start=START)
    populate_demo(world)
    populate_fleet_demo(world)
    world.add_vehicle(world.account("demo1@teslalink.test"), model="S", signed_commands_required=True)
    return world


@dataclass
class Link:
    """What route_command needs of a FleetApi: the transport, the current host, the token, billing."""

    http: HttpTransport
    base_url: URL
    tokens: StaticToken
    hosts: dict[FleetRegion, str]
    billed: Counter[str] = field(default_factory=Counter)
    switches: list[str] = field(default_factory=list)

    def count_billable(self, category: str, status: int) -> None:
        if status < 500 and status != 401:
            self.billed[category] += 1

    def follow_region(self, base_url: str) -> str:
        region = next(r for r, url in FLEET_BASE_URLS.items() if base_url.rstrip("/") == url)
        self.base_url = URL(self.hosts[region])
        self.switches.append(region)
        return str(self.base_url)


@dataclass
class SignerTwin:
    world: World
    urls: FleetUrls
    http: HttpTransport

    def owner(self, n: int = 1) -> Account:
        return self.world.account(f"demo{n}@teslalink.test")

    def car(self, n: int = 1, model: str | None = None) -> Car:
        cars = self.world.vehicles_of(self.owner(n))
        return next(car for car in cars if model is None or car.spec.letter == model)

    def bearer(self, account: Account | None = None, scopes: tuple[str, ...] = regions.ALL_SCOPES) -> str:
        """A Fleet user access token of the demo app (all scopes by default)."""
        body = authority_of(self.world).issue_user_token(
            account or self.owner(1), client_id=DEMO_APP.client_id, scopes=scopes
        )
        return str(body["access_token"])

    def token(
        self, account: Account | None = None, scopes: tuple[str, ...] = regions.ALL_SCOPES
    ) -> StaticToken:
        return StaticToken(self.bearer(account, scopes))

    def paired_key(self, *cars: Car) -> PartnerKey:
        """A fresh key the owner approved on each car (the twin's "owner tapped approve")."""
        key = PartnerKey.generate()
        for car in cars:
            pair(self.world, car.vin, key.public_bytes())
        return key

    def billed_commands(self) -> int:
        """The twin's count of billed command requests (every signed_command POST is one)."""
        return self.world.accounting.totals[BillingCategory.COMMAND]

    def link(self, region: FleetRegion = "na", account: Account | None = None) -> Link:
        return Link(self.http, URL(self.urls.api[region]), self.token(account), dict(self.urls.api))

    async def send(
        self,
        signer: VcpSigner,
        car: Car,
        name: str,
        params: dict[str, Any] | None = None,
        *,
        region: FleetRegion = "na",
        statuses: list[int] | None = None,
    ) -> dict[str, Any]:
        """One signed command through the served twin, every POST's status appended to `statuses`."""
        heard = statuses if statuses is not None else []
        return await signer.send(
            self.http,
            self.urls.api[region],
            car.vin,
            self.token(car.account),
            name,
            params or {},
            on_status=heard.append,
        )


@asynccontextmanager
async def served(world: World) -> AsyncIterator[SignerTwin]:
    async with serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud, HttpTransport() as http:
        yield SignerTwin(world, FleetUrls.of(cloud.extra), http)


@dataclass
class Relay:
    """A loopback hop in front of the twin's na host; with `lose_answers`, it hangs up once the car
    has answered (the Fleet API ran the command, its reply never reaches us)."""

    base_url: str = ""
    forwarded: int = 0
    lose_answers: bool = False


@asynccontextmanager
async def relay_to(twin: SignerTwin) -> AsyncIterator[Relay]:
    relay = Relay()

    async def forward(request: web.Request) -> web.StreamResponse:
        upstream = URL(twin.urls.api["na"]).join(URL(request.path.lstrip("/")))
        headers = {"Authorization": request.headers["Authorization"], "Content-Type": "application/json"}
        answer = await twin.http.request("POST", upstream, headers=headers, data=await request.read())
        relay.forwarded += 1
        if relay.lose_answers:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.Response(status=answer.status, body=answer.body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/1/vehicles/{vin}/signed_command", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    relay.base_url = f"http://{host}:{port}/"
    try:
        yield relay
    finally:
        await runner.cleanup()
