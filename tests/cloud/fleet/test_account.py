"""open_fleet against the served Fleet twin: a stored login becomes a ready FleetApi.

Signed commands with the app's key and the account's session cache, REST without a key, the
region a 421 taught stored for the next process, the billable calls in the ledger beside the
token file, a 429's cooldown kept across processes, a bad key file refused before anything is
sent, and REST commands sent to a user's tesla-http-proxy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fleet_api_twin import (  # noqa: F401 - the fixtures
    FleetTwin,
    demo_fleet_world_fixture,
    first_car,
    fleet_surfaces_of_fixture,
    fleet_twin_fixture,
    old_model_s,
)

from teslalink import errors
from teslalink.cloud.fleet.account import COMMAND_PROXY_ENV, open_fleet
from teslalink.cloud.fleet.app import FleetApp
from teslalink.cloud.fleet.ledger import BudgetLedger
from teslalink.cloud.fleet.tokens import SECTION, FleetToken
from teslalink.cloud.tokens import TokenStore
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator.fleet import DEMO_APP, pair
from teslalink.simulator.fleet.faults import inject_fault
from teslalink.simulator.fleet.regions import ALL_SCOPES
from teslalink.simulator.fleet.state import authority_of, fleet_state

DEMO1 = "demo1@teslalink.test"  # na
DEMO2 = "demo2@teslalink.test"  # eu


class Account:
    """A token file with one stored Fleet login, the app configured against the twin, its key path."""

    def __init__(self, twin: FleetTwin, tmp_path: Path) -> None:
        self.twin = twin
        self.store = TokenStore(tmp_path / "tokens.json")
        self.key_path = tmp_path / "fleet-key.pem"
        self.env: dict[str, str] = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
        self.app = FleetApp(
            client_id=DEMO_APP.client_id,
            client_secret=DEMO_APP.client_secret,
            redirect_uri=DEMO_APP.redirect_uris[0],
            domain=DEMO_APP.domain,
            key_path=self.key_path,
            hosts=twin.hosts,
        )

    def log_in(self, email: str, *, region: str | None = None) -> None:
        """Store a Fleet login as `teslalink fleet login` would (`region`: a stale one, say)."""
        account = self.twin.world.account(email)
        body = authority_of(self.twin.world).issue_user_token(
            account, client_id=DEMO_APP.client_id, scopes=ALL_SCOPES
        )
        token = FleetToken(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_at=self.twin.world.now() + float(body["expires_in"]),
            region=region or fleet_state(self.twin.world).home_region(account),
            scopes=ALL_SCOPES,
            client_id=DEMO_APP.client_id,
        )
        self.store.save_section(email, SECTION, token.to_entry())

    def paired_key(self, *vins: str) -> PartnerKey:
        key = PartnerKey.load_or_create(self.key_path)
        for vin in vins:
            pair(self.twin.world, vin, key.public_bytes())
        return key

    def open(self, identity: str | None = None, **options: Any) -> Any:
        return open_fleet(
            self.store, identity, app=self.app, environ=self.env, clock=self.twin.world.now, **options
        )

    def stored_region(self, email: str) -> str:
        entry = self.store.load_section(email, SECTION)
        assert entry is not None
        return str(entry["region"])


@pytest.fixture
def account(fleet_twin: FleetTwin, tmp_path: Path) -> Account:
    return Account(fleet_twin, tmp_path)


async def test_a_signed_command_with_the_key_and_its_cost_in_the_ledger(account: Account) -> None:
    account.log_in(DEMO1)
    car = first_car(account.twin)
    account.paired_key(car.vin)
    async with account.open() as api:  # the only Fleet login: no identity needed
        assert api.signer is not None
        assert api.region == "na"
        vehicle = await api.vehicle(car.vin)
        result = await vehicle.set_charging_amps(12)
    assert result["result"] is True
    assert car.port.current_request == 12
    billed = account.twin.billed()
    assert billed["commands"] >= 2  # a handshake and the command, each a billed signed_command
    usage = BudgetLedger.beside(account.store.path or Path()).month(DEMO1)  # this month (wall clock)
    assert usage.count("commands") == billed["commands"]
    assert account.store.path is not None
    sessions = account.store.path.parent / "vcp-sessions" / f"{DEMO1}.json"  # beside the token file
    assert sessions.is_file()  # the next process signs without a handshake


async def test_a_second_process_signs_without_a_handshake(account: Account) -> None:
    account.log_in(DEMO1)
    car = first_car(account.twin)
    account.paired_key(car.vin)
    async with account.open(DEMO1) as api:
        await (await api.vehicle(car.vin)).set_charging_amps(10)
    before = account.twin.billed()["commands"]
    async with account.open(DEMO1) as api:
        await (await api.vehicle(car.vin)).set_charging_amps(11)
    assert account.twin.billed()["commands"] == before + 1
    assert car.port.current_request == 11


async def test_without_a_key_commands_are_rest_and_an_old_model_s_takes_them(account: Account) -> None:
    account.log_in(DEMO1)
    old = old_model_s(account.twin)
    async with account.open() as api:
        assert api.signer is None
        await (await api.vehicle(old.vin)).wake_up()
        result = await (await api.vehicle(old.vin)).set_charging_amps(9)
        assert result["result"] is True
        new = await api.vehicle(first_car(account.twin).vin)
        with pytest.raises(errors.ApiError, match="Vehicle Command Protocol"):
            await new.set_charging_amps(9)  # a 2024 car refuses REST: the key is missing
    assert old.port.current_request == 9


async def test_rest_mode_ignores_the_key_and_signed_mode_needs_one(account: Account) -> None:
    account.log_in(DEMO1)
    account.paired_key()
    async with account.open(api="rest") as api:
        assert api.signer is None
    account.key_path.unlink()
    with pytest.raises(errors.ConfigError, match="teslalink fleet key create"):
        async with account.open(api="signed"):
            pass
    with pytest.raises(errors.ConfigError, match="command mode"):
        async with account.open(api="owner"):
            pass


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", "not a PEM"),
        (b"\x00\x01garbage", "not a PEM"),
    ],
)
async def test_a_corrupt_key_file_is_refused_before_anything_is_sent(
    account: Account, content: bytes, words: str
) -> None:
    account.log_in(DEMO1)
    account.key_path.write_bytes(content)
    with pytest.raises(errors.ConfigError, match=words):
        async with account.open():
            pass
    assert account.twin.world.accounting.totals.total() == 0


async def test_a_421_moves_the_stored_region_for_the_next_process(account: Account) -> None:
    account.log_in(DEMO2, region="na")  # stale: demo2 lives in eu
    async with account.open() as api:
        cars = await api.vehicles()
        assert cars
        assert api.region == "eu"
    assert account.stored_region(DEMO2) == "eu"
    async with account.open() as api:
        assert api.region == "eu"
        assert str(api.base_url) == account.twin.hosts.base_url("eu")


async def test_a_429_cooldown_is_kept_for_the_next_process(account: Account) -> None:
    account.log_in(DEMO1)
    car = first_car(account.twin)
    inject_fault(account.twin.world, "na", "rate_limit", requests=1, retry_after=120)
    with pytest.raises(errors.RateLimited):
        async with account.open() as api:
            await api.vehicle(car.vin)
    sent = account.twin.world.accounting.totals.total()
    with pytest.raises(errors.RateLimited):
        async with account.open() as api:
            await api.vehicle(car.vin)
    assert account.twin.world.accounting.totals.total() == sent  # nothing sent in the cooldown
    assert (Path(account.store.path or "").with_name("cooldowns.json")).is_file()


async def test_a_command_proxy_gets_the_rest_commands(account: Account) -> None:
    account.log_in(DEMO1)
    account.paired_key()
    car = first_car(account.twin)
    async with proxy() as (url, heard):
        account.env[COMMAND_PROXY_ENV] = url
        async with account.open() as api:
            assert api.signer is None  # the proxy signs with its own key
            result = await (await api.vehicle(car.vin)).set_charging_amps(8)
    assert result["result"] is True
    assert heard == [f"/api/1/vehicles/{car.vin}/command/set_charging_amps"]


async def test_signed_mode_with_a_command_proxy_set_is_refused_not_sent_as_rest(account: Account) -> None:
    account.log_in(DEMO1)
    account.paired_key()
    account.env[COMMAND_PROXY_ENV] = "http://127.0.0.1:9/"
    with pytest.raises(errors.ConfigError, match="signs them with its own key"):
        async with account.open(api="signed"):
            pass


async def test_without_a_domain_not_paired_says_to_set_it_instead_of_a_dead_link(account: Account) -> None:
    account.log_in(DEMO1)
    account.paired_key()  # the key exists, but no car has it
    account.app = dataclasses.replace(account.app, domain="")
    async with account.open() as api:
        with pytest.raises(errors.NotPaired) as caught:
            await (await api.vehicle(first_car(account.twin).vin)).set_charging_amps(8)
    assert caught.value.link == ""
    assert "set the app's domain" in str(caught.value)
    assert "%3C" not in str(caught.value)


@asynccontextmanager
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A stand-in for the user's tesla-http-proxy: it answers every command as run."""
    heard: list[str] = []

    async def command(request: web.Request) -> web.Response:
        heard.append(request.path)
        return web.json_response({"response": {"result": True, "reason": ""}})

    app = web.Application()
    app.router.add_post("/api/1/vehicles/{vin}/command/{name}", command)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/", heard
    finally:
        await runner.cleanup()


async def test_which_login_needs_saying_when_there_are_several_or_none(account: Account) -> None:
    with pytest.raises(errors.ConfigError, match="teslalink fleet login"):
        async with account.open():
            pass
    account.log_in(DEMO1)
    account.log_in(DEMO2)
    with pytest.raises(errors.ConfigError, match="pass --email"):
        async with account.open():
            pass
    with pytest.raises(errors.TokenExpired, match="teslalink fleet login"):
        async with account.open("nobody@teslalink.test"):
            pass
    async with account.open(DEMO2) as api:
        assert api.region == "eu"
        assert api.account == DEMO2
