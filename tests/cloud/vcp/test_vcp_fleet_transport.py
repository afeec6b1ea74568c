"""Our signing stack over the Fleet API's `signed_command`, against the served twin on loopback.

`FleetTransport` is the one HTTP link between `teslalink.cloud.vcp` and a car: the twin's regional
host checks the token, the scope and the car, then hands the bytes to the simulated car. Each
refusal of the Fleet API must come back as its own teslalink error, and a 4xx (nothing ran) must
not be reported as "the car may have run it". Every test runs on both HTTP transports the signed
path may use: aiohttp's (`_http.Transport`) and the lean pool (`_pool_http.PoolTransport`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from teslalink import errors
from teslalink._http import Transport as HttpTransport
from teslalink._pool_http import PoolTransport
from teslalink.cloud.provider import StaticToken
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.dispatch import OutcomeUnknown, send_command
from teslalink.cloud.vcp.fleet_transport import (
    FleetTransport,
    MissingScopes,
    OutOfRegion,
    SignedCommandsNotSupported,
)
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import DomainSession
from teslalink.simulator import World, populate_demo
from teslalink.simulator.accounts import Account
from teslalink.simulator.fleet import (
    DEMO_APP,
    FLEET_BASE_URLS,
    FleetRegion,
    FleetUrls,
    fleet_surfaces,
    pair,
    populate_fleet_demo,
)
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec

START = 1_760_000_000.0
ALL_SCOPES = "openid offline_access user_data vehicle_device_data vehicle_cmds vehicle_charging_cmds"


TRANSPORTS = {"aiohttp": HttpTransport, "pool": PoolTransport}


@pytest.fixture(params=sorted(TRANSPORTS))
def http_kind(request: pytest.FixtureRequest) -> type[HttpTransport | PoolTransport]:
    kind: type[HttpTransport | PoolTransport] = TRANSPORTS[request.param]
    return kind


@dataclass
class Fleet:
    world: World
    urls: FleetUrls
    http: HttpTransport | PoolTransport

    def owner(self, n: int) -> Account:
        return self.world.account(f"demo{n}@teslalink.test")

    def token(self, account: Account, scopes: str = ALL_SCOPES) -> StaticToken:
        body = authority_of(self.world).issue_user_token(
            account, client_id=DEMO_APP.client_id, scopes=tuple(scopes.split())
        )
        return StaticToken(str(body["access_token"]))

    def transport(self, car: Car, tokens: StaticToken, region: FleetRegion = "na") -> FleetTransport:
        return FleetTransport(self.http, self.urls.api[region], car.vin, tokens)

    def session(self, car: Car, key: PartnerKey, domain: Domain) -> DomainSession:
        return DomainSession(car.vin, domain, key, clock=self.world.now, app_domain=DEMO_APP.domain)


@pytest.fixture
async def fleet(http_kind: type[HttpTransport | PoolTransport]) -> AsyncIterator[Fleet]:
    """The demo world (demo1 in na, demo2 in eu; the demo app registered everywhere), served."""
    world = World(seed=11, speed=0.0, start=START)
    populate_demo(world)
    populate_fleet_demo(world)
    async with serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud, http_kind() as http:
        yield Fleet(world, FleetUrls.of(cloud.extra), http)


def paired_car(fleet: Fleet, n: int = 1) -> tuple[Car, PartnerKey]:
    car = fleet.world.vehicles_of(fleet.owner(n))[0]
    key = PartnerKey.generate()
    pair(fleet.world, car.vin, key.public_bytes())  # the owner tapped "approve"
    return car, key


async def test_signed_commands_over_the_fleet_api_change_the_car(fleet: Fleet) -> None:
    car, key = paired_car(fleet)
    transport = fleet.transport(car, fleet.token(fleet.owner(1)))
    infotainment = fleet.session(car, key, Domain.INFOTAINMENT)
    vcsec = fleet.session(car, key, Domain.VEHICLE_SECURITY)
    billed_before = sum(fleet.world.accounting.totals.values())

    assert (await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 13}), transport)).ok
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 13
    assert (await send_command(vcsec, build("UNLOCK"), transport)).ok
    assert car.closures.locked is False
    assert (await send_command(vcsec, build("LOCK"), transport)).ok
    assert car.closures.locked is True
    # two handshakes and three commands, each a billed POST (research/fleet.md 1.9)
    assert sum(fleet.world.accounting.totals.values()) - billed_before == 5


async def test_signed_commands_over_tls_to_the_twin_change_the_car(fleet: Fleet, tmp_path: Path) -> None:
    """The twin's TLS front (its CA, a certificate for the name) in front of the na host: the
    pool verifies the certificate and the name, aiohttp too, and the command reaches the car."""
    from teslalink.simulator.fleet.tls import serve_tls_access

    car, key = paired_car(fleet)
    async with serve_tls_access({"localhost": fleet.urls.api["na"]}, tmp_path) as access:
        trusting = ssl.create_default_context(cafile=str(access.ca_file))
        base = f"https://localhost:{access.https['localhost']}/"
        http: HttpTransport | PoolTransport
        if isinstance(fleet.http, PoolTransport):
            http = PoolTransport(ssl_context=trusting)
        else:  # aiohttp: a session of its own that trusts the twin CA
            http = HttpTransport(aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)))
        try:
            transport = FleetTransport(http, base, car.vin, fleet.token(fleet.owner(1)))
            infotainment = fleet.session(car, key, Domain.INFOTAINMENT)
            command = build("CHARGING_AMPS", {"charging_amps": 9})
            assert (await asyncio.wait_for(send_command(infotainment, command, transport), 30)).ok
        finally:
            if isinstance(http, HttpTransport):
                await http.session.close()
            else:
                await http.close()
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 9


async def test_a_car_that_takes_rest_commands_is_told_to_use_rest(fleet: Fleet) -> None:
    account = fleet.owner(1)
    old = fleet.world.add_vehicle(account, model="S", vin=make_vin(model_spec("S"), 2019, random.Random(3)))
    key = PartnerKey.generate()
    session = fleet.session(old, key, Domain.INFOTAINMENT)
    with pytest.raises(SignedCommandsNotSupported) as caught:
        await send_command(
            session, build("CHARGING_AMPS", {"charging_amps": 10}), fleet.transport(old, fleet.token(account))
        )
    assert caught.value.status == 422


async def test_an_offline_car_is_unavailable_and_stays_offline(fleet: Fleet) -> None:
    car, key = paired_car(fleet)
    transport = fleet.transport(car, fleet.token(fleet.owner(1)))
    infotainment = fleet.session(car, key, Domain.INFOTAINMENT)
    assert (await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 12}), transport)).ok
    car.go_offline()
    with pytest.raises(errors.VehicleUnavailable, match="offline or asleep") as caught:
        await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 10}), transport)
    assert not isinstance(caught.value, OutcomeUnknown)  # a 408: the command never reached the car
    assert car.state == "offline"  # never woken
    assert car.port.current_request == 12  # read without reaching the car (it is offline)


async def test_a_token_without_the_scope_is_refused_and_the_car_unchanged(fleet: Fleet) -> None:
    car, key = paired_car(fleet)
    charging_only = fleet.token(fleet.owner(1), "openid vehicle_charging_cmds")
    transport = fleet.transport(car, charging_only)
    vcsec = fleet.session(car, key, Domain.VEHICLE_SECURITY)
    locked = car.closures.locked
    with pytest.raises(MissingScopes) as caught:
        await send_command(vcsec, build("UNLOCK") if locked else build("LOCK"), transport)
    assert caught.value.status == 403
    assert "vehicle_cmds" in str(caught.value)
    assert car.closures.locked is locked
    token = await charging_only.access_token()
    assert token not in str(caught.value)
    assert token not in repr(transport)


async def test_another_regions_account_is_told_its_base_url(fleet: Fleet) -> None:
    car, key = paired_car(fleet, 2)  # demo2 lives in eu
    transport = fleet.transport(car, fleet.token(fleet.owner(2)), region="na")
    with pytest.raises(OutOfRegion) as caught:
        await send_command(
            fleet.session(car, key, Domain.INFOTAINMENT),
            build("CHARGING_AMPS", {"charging_amps": 8}),
            transport,
        )
    assert caught.value.base_url == FLEET_BASE_URLS["eu"]


async def test_a_rejected_token_is_renewed_once(fleet: Fleet) -> None:
    car, key = paired_car(fleet)

    class Renewing:
        def __init__(self, fresh: str) -> None:
            self.fresh = fresh
            self.rejected: list[str] = []

        async def access_token(self) -> str:
            return "not-a-token"

        async def token_rejected(self, token: str) -> str:
            self.rejected.append(token)
            return self.fresh

    tokens = Renewing(await fleet.token(fleet.owner(1)).access_token())
    statuses: list[int] = []
    transport = FleetTransport(fleet.http, fleet.urls.api["na"], car.vin, tokens, on_status=statuses.append)
    assert (
        await send_command(
            fleet.session(car, key, Domain.INFOTAINMENT),
            build("CHARGING_AMPS", {"charging_amps": 9}),
            transport,
        )
    ).ok
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 9
    assert tokens.rejected == ["not-a-token", "not-a-token"]  # the handshake's POST, then the command's
    assert statuses == [401, 200, 401, 200]  # every POST is heard (the ledger decides what is billed)


# --- what the twin's Fleet hosts do not inject (no fault layer there yet): a loopback stand-in -------


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    """`handler` for every signed_command POST, on a loopback port; yields the base URL."""
    app = web.Application()
    app.router.add_post("/api/1/vehicles/{vin}/signed_command", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        await runner.cleanup()


def hang_up(request: web.Request) -> web.StreamResponse:
    """Close the connection: the request arrived, its answer is lost."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


@pytest.fixture
async def misbehaving() -> AsyncIterator[tuple[list[web.Response | None], str]]:
    """A server answering each POST with the next queued response (None: hang up)."""
    queued: list[web.Response | None] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        await request.read()
        reply = queued.pop(0)
        return hang_up(request) if reply is None else reply

    async with serving(answer) as base:
        yield queued, base


@dataclass
class Relay:
    """Forwards each POST to the twin's na host; with `lose_answers`, hangs up once the car answered."""

    base_url: str
    forwarded: int = 0
    lose_answers: bool = False


@pytest.fixture
async def relay(fleet: Fleet) -> AsyncIterator[Relay]:
    relay = Relay("")

    async def forward(request: web.Request) -> web.StreamResponse:
        upstream = URL(fleet.urls.api["na"]).join(URL(request.path.lstrip("/")))
        headers = {"Authorization": request.headers["Authorization"], "Content-Type": "application/json"}
        answer = await fleet.http.request("POST", upstream, headers=headers, data=await request.read())
        relay.forwarded += 1
        if relay.lose_answers:
            return hang_up(request)
        return web.Response(status=answer.status, body=answer.body, content_type="application/json")

    async with serving(forward) as base:
        relay.base_url = base
        yield relay


async def test_an_answer_lost_after_the_car_acted_is_not_sent_again(fleet: Fleet, relay: Relay) -> None:
    car, key = paired_car(fleet)
    transport = FleetTransport(fleet.http, relay.base_url, car.vin, fleet.token(fleet.owner(1)))
    infotainment = fleet.session(car, key, Domain.INFOTAINMENT)
    assert (await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 11}), transport)).ok
    relay.lose_answers = True
    before = relay.forwarded
    with pytest.raises(OutcomeUnknown, match="may have run"):
        await send_command(infotainment, build("CHARGING_AMPS", {"charging_amps": 7}), transport)
    assert relay.forwarded - before == 1  # sent once, never again
    assert car.port.current_request == 7  # and the car did act on it


async def test_rate_limits_server_errors_and_lost_answers(
    misbehaving: tuple[list[web.Response | None], str], http_kind: type[HttpTransport | PoolTransport]
) -> None:
    queued, base = misbehaving
    async with http_kind() as http:
        transport = FleetTransport(http, base, "5YJ3E1EA1KF000001", StaticToken("secret-token"))
        queued.append(
            web.json_response(
                {"response": None, "error": "rate limited"}, status=429, headers={"Retry-After": "37"}
            )
        )
        with pytest.raises(errors.RateLimited) as limited:
            await transport(lambda: b"\x01")
        assert limited.value.retry_after == 37.0
        queued.append(web.json_response({"response": None, "error": "gateway timeout"}, status=504))
        with pytest.raises(errors.ServiceUnavailable):
            await transport(lambda: b"\x01")
        for not_base64 in (42, "AQID?A==", "AQ==AQ==", "QUJD\u00e9", "AQ"):  # type, alphabet, padding, ASCII
            queued.append(web.json_response({"response": not_base64}))
            with pytest.raises(errors.DecodeError, match="without a base64"):
                await transport(lambda: b"\x01")
        queued.append(web.json_response({"response": "AQID"}))
        assert await transport(lambda: b"\x01") == b"\x01\x02\x03"
        queued.append(web.Response(status=421, headers={"Alt-Svc": "h2=https://fleet-api.example.com"}))
        with pytest.raises(OutOfRegion) as moved:
            await transport(lambda: b"\x01")
        assert moved.value.base_url == "https://fleet-api.example.com"
        queued.append(None)
        with pytest.raises(errors.ConnectionError):
            await transport(lambda: b"\x01")
        assert queued == []
