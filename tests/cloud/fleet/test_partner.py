"""Partner onboarding against the served Fleet twin: a token per region, registration in every
region, the key check, and each refusal as one line saying what to fix."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from teslalink import errors
from teslalink.cloud.fleet.hosts import FleetHosts
from teslalink.cloud.fleet.partner import (
    PartnerClient,
    RefusalReason,
    RegionResult,
    RegistrationRefused,
    RegistrationStatus,
    not_registered_hint,
)
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator import World, populate_demo
from teslalink.simulator.fleet import FleetUrls, fleet_state, fleet_surfaces
from teslalink.simulator.fleet.state import PartnerApp, authority_of
from teslalink.simulator.serve import serve_cloud

APP = PartnerApp(
    client_id="onboard-test-app",
    client_secret="onboard-secret-do-not-print",
    domain="onboard.example",
    redirect_uris=("http://127.0.0.1:8765/callback",),
    name="onboard test",
)


@dataclass
class Twin:
    world: World
    urls: FleetUrls

    @property
    def hosts(self) -> FleetHosts:
        return FleetHosts(api=dict(self.urls.api), auth=self.urls.auth)

    def client(self, secret: str = APP.client_secret, hosts: FleetHosts | None = None) -> PartnerClient:
        return PartnerClient(hosts or self.hosts, APP.client_id, secret)

    def host_key(self, pem: str | bytes) -> None:
        fleet_state(self.world).know_domain_key(APP.domain, pem)


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    """A demo world with an app of our own, not registered anywhere, its domain serving no key yet."""
    world = World(seed=11, speed=0.0)
    populate_demo(world)
    fleet_state(world).add_app(APP)
    async with serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud:
        yield Twin(world, FleetUrls.of(cloud.extra))


async def onboard(
    twin: Twin, key_hex: str, domain: str = APP.domain, **kwargs: str
) -> dict[str, RegionResult]:
    client = twin.client(**kwargs)
    try:
        return {r.region: r for r in await client.onboard(domain, key_hex)}
    finally:
        await client.close()


def p384_public_pem() -> bytes:
    return (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


async def test_onboard_registers_in_every_region_with_our_key(twin: Twin) -> None:
    key = PartnerKey.generate()
    twin.host_key(key.public_pem())
    results = await onboard(twin, key.public_hex())
    assert set(results) == {"na", "eu", "cn"}
    for region, result in results.items():
        assert result.status is RegistrationStatus.REGISTERED, result.detail
        assert result.public_key == key.public_hex()
        registration = fleet_state(twin.world).registration(region, APP.client_id)
        assert registration is not None
        assert registration.public_key == key.public_bytes()


async def test_after_onboarding_user_calls_pass_the_412_rule(twin: Twin) -> None:
    account = twin.world.account("demo1@teslalink.test")
    token = authority_of(twin.world).issue_user_token(account, client_id=APP.client_id, scopes=("openid",))
    url = twin.urls.api["na"] + "api/1/products"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers) as before:
            assert before.status == 412
            assert "must be registered in the current region" in (await before.json())["error"]
        key = PartnerKey.generate()
        twin.host_key(key.public_pem())
        await onboard(twin, key.public_hex())
        async with session.get(url, headers=headers) as after:
            assert after.status == 200
    assert not_registered_hint("eu", APP.domain) == (
        "register the app in eu: teslalink fleet register --domain onboard.example"
    )


async def test_no_key_at_the_domain_is_one_line_naming_the_well_known_url(twin: Twin) -> None:
    results = await onboard(twin, PartnerKey.generate().public_hex())
    for result in results.values():
        assert result.status is RegistrationStatus.REFUSED
        detail = result.detail
        assert "\n" not in detail
        assert "https://onboard.example/.well-known/appspecific/com.tesla.3p.public-key.pem" in detail
        assert "no public key" in detail
        assert "teslalink fleet key show" in detail


async def test_a_key_that_is_not_p256_is_refused_as_such(twin: Twin) -> None:
    twin.host_key(p384_public_pem())
    client = twin.client()
    try:
        with pytest.raises(RegistrationRefused) as refused:
            await client.register("eu", APP.domain)
    finally:
        await client.close()
    assert refused.value.reason is RefusalReason.NOT_P256
    assert str(refused.value).startswith("eu: the key at https://onboard.example/")
    assert "not a P-256 public key" in str(refused.value)


async def test_a_domain_that_is_not_the_apps_is_refused_as_such(twin: Twin) -> None:
    key = PartnerKey.generate()
    twin.host_key(key.public_pem())
    results = await onboard(twin, key.public_hex(), domain="someone-else.example")
    for result in results.values():
        assert result.status is RegistrationStatus.REFUSED
        assert "someone-else.example is not this app's domain" in result.detail
    assert all(fleet_state(twin.world).registration(r, APP.client_id) is None for r in ("na", "eu", "cn"))


async def test_a_domain_serving_another_key_is_a_key_mismatch(twin: Twin) -> None:
    twin.host_key(PartnerKey.generate().public_pem())  # an old key still served
    ours = PartnerKey.generate()
    results = await onboard(twin, ours.public_hex())
    for result in results.values():
        assert result.status is RegistrationStatus.KEY_MISMATCH
        assert "not ours" in result.detail
        assert "register again" in result.detail
        assert result.public_key != ours.public_hex()


async def test_wrong_secret_fails_each_region_without_showing_it(twin: Twin) -> None:
    key = PartnerKey.generate()
    twin.host_key(key.public_pem())
    results = await onboard(twin, key.public_hex(), secret="wrong-secret-value")
    for result in results.values():
        assert result.status is RegistrationStatus.FAILED
        assert "client_id or client_secret was refused" in result.detail
        assert "wrong-secret-value" not in result.detail
    assert "wrong-secret-value" not in repr(twin.client(secret="wrong-secret-value"))


async def test_one_region_down_does_not_stop_the_others(twin: Twin) -> None:
    key = PartnerKey.generate()
    twin.host_key(key.public_pem())
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    hosts = FleetHosts(api={**twin.urls.api, "cn": dead}, auth=twin.urls.auth)
    client = twin.client(hosts=hosts)
    try:
        results = {r.region: r for r in await client.onboard(APP.domain, key.public_hex())}
    finally:
        await client.close()
    assert results["na"].ok
    assert results["eu"].ok
    assert results["cn"].status is RegistrationStatus.FAILED
    assert results["cn"].detail.startswith("cn: ")


async def test_the_registered_key_reads_back_and_none_before(twin: Twin) -> None:
    key = PartnerKey.generate()
    twin.host_key(key.public_pem())
    client = twin.client()
    try:
        assert await client.registered_key("na", APP.domain) is None
        assert await client.register("na", APP.domain) == key.public_hex()
        assert await client.registered_key("na", APP.domain) == key.public_hex()
        assert await client.registered_key("eu", APP.domain) is None  # per region
    finally:
        await client.close()


def test_partner_calls_need_the_app_credentials() -> None:
    with pytest.raises(errors.ConfigError):
        PartnerClient(FleetHosts(), "id-only", "")
