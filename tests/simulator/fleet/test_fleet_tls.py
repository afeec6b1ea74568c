"""The twin under Tesla's real names: its CA, HTTPS listeners and CONNECT proxy (simulator.fleet.tls).

A client given only a proxy URL and the twin CA reaches the twin's regional hosts and fleet-auth
by their real https:// names; the proxy refuses any other destination or method, and the
certificate is good for the Fleet names only.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from teslalink.simulator.fleet.tls import (
    TESLA_FLEET_NAMES,
    TlsAccess,
    fleet_upstreams,
    issue_certificates,
    serve_tls_access,
)

from .conftest import Fleet

NA = "https://fleet-api.prd.na.vn.cloud.tesla.com/"
IO_BUDGET_S = 10.0  # a hang guard only: every exchange is on loopback


@pytest.fixture
async def access(fleet: Fleet, tmp_path: Path) -> AsyncIterator[TlsAccess]:
    async with serve_tls_access(fleet_upstreams(fleet.urls), tmp_path / "tls") as served:
        yield served


def trusting(access: TlsAccess) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=access.ca_file)


async def exchange(access: TlsAccess, head: bytes) -> bytes:
    """Send one raw request head to the proxy; its whole answer (the proxy closes after a refusal)."""
    port = int(access.proxy_url.rsplit(":", 1)[1])
    async with asyncio.timeout(IO_BUDGET_S):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(head)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()


async def test_the_real_region_name_reaches_the_twin_through_the_proxy(
    fleet: Fleet, access: TlsAccess
) -> None:
    token = fleet.user_token(fleet.account(1))
    async with (
        asyncio.timeout(IO_BUDGET_S),
        fleet.session.get(
            NA + "api/1/users/region",
            proxy=access.proxy_url,
            ssl=trusting(access),
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["response"]["region"] == "na"
    assert access.tunnels == {"fleet-api.prd.na.vn.cloud.tesla.com": 1}


async def test_fleet_auth_is_reachable_by_its_real_name(fleet: Fleet, access: TlsAccess) -> None:
    url = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"
    async with (
        asyncio.timeout(IO_BUDGET_S),
        fleet.session.post(
            url, data={"grant_type": "client_credentials"}, proxy=access.proxy_url, ssl=trusting(access)
        ) as response,
    ):
        assert response.status == 400  # the twin's own answer to a grant without credentials


async def test_every_fleet_name_has_its_own_https_listener(access: TlsAccess) -> None:
    assert set(access.https) == set(TESLA_FLEET_NAMES)
    assert len(set(access.https.values())) == len(TESLA_FLEET_NAMES)
    assert access.environ() == {"HTTPS_PROXY": access.proxy_url, "SSL_CERT_FILE": str(access.ca_file)}


async def test_a_connect_to_any_other_host_is_refused(access: TlsAccess) -> None:
    answer = await exchange(access, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert b"fleet-api.prd.na.vn.cloud.tesla.com" in answer  # says what it does tunnel
    assert not access.tunnels


async def test_a_fleet_name_on_another_port_is_refused(access: TlsAccess) -> None:
    head = b"CONNECT fleet-api.prd.na.vn.cloud.tesla.com:80 HTTP/1.1\r\n\r\n"
    assert (await exchange(access, head)).startswith(b"HTTP/1.1 403 ")


async def test_a_plain_proxy_request_is_refused(access: TlsAccess) -> None:
    head = b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"
    assert (await exchange(access, head)).startswith(b"HTTP/1.1 405 ")


async def test_an_oversized_request_head_is_refused(access: TlsAccess) -> None:
    head = b"CONNECT fleet-api.prd.na.vn.cloud.tesla.com:443 HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n"
    assert (await exchange(access, head)).startswith(b"HTTP/1.1 431 ")


async def test_the_certificate_is_good_for_the_fleet_names_only(access: TlsAccess) -> None:
    port = access.https["fleet-api.prd.eu.vn.cloud.tesla.com"]
    async with asyncio.timeout(IO_BUDGET_S):
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=trusting(access), server_hostname="fleet-api.prd.eu.vn.cloud.tesla.com"
        )
        writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=trusting(access), server_hostname="owner-api.teslamotors.com"
            )


async def test_a_client_without_the_twin_ca_does_not_trust_it(access: TlsAccess) -> None:
    port = access.https["fleet-api.prd.na.vn.cloud.tesla.com"]
    async with asyncio.timeout(IO_BUDGET_S):
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                "127.0.0.1",
                port,
                ssl=ssl.create_default_context(),
                server_hostname="fleet-api.prd.na.vn.cloud.tesla.com",
            )


def test_the_server_key_file_is_private_and_the_key_never_in_a_repr(tmp_path: Path) -> None:
    certificates = issue_certificates(["fleet-api.prd.na.vn.cloud.tesla.com"])
    _, _, key_file = certificates.write(tmp_path)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in repr(certificates)


def test_a_certificate_needs_a_name() -> None:
    with pytest.raises(ValueError, match="at least one name"):
        issue_certificates([])


async def test_the_proxy_stops_with_tunnels_open(fleet: Fleet, tmp_path: Path) -> None:
    async with serve_tls_access(fleet_upstreams(fleet.urls), tmp_path / "tls") as served:
        port = int(served.proxy_url.rsplit(":", 1)[1])
        async with asyncio.timeout(IO_BUDGET_S):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"CONNECT fleet-api.prd.na.vn.cloud.tesla.com:443 HTTP/1.1\r\n\r\n")
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
    async with asyncio.timeout(IO_BUDGET_S):
        assert await reader.read() == b""  # the open tunnel was closed with the proxy
    writer.close()


async def test_an_upstream_must_be_a_plain_http_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain http"):
        async with serve_tls_access({"fleet-api.prd.na.vn.cloud.tesla.com": "https://x/"}, tmp_path):
            pass


async def test_a_dropped_client_does_not_disturb_the_proxy(access: TlsAccess) -> None:
    port = int(access.proxy_url.rsplit(":", 1)[1])
    async with asyncio.timeout(IO_BUDGET_S):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"CONNECT fleet-api.prd.na")  # and goes away mid-head
        writer.close()
    answer = await exchange(access, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403 ")
