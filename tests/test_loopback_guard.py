"""The loopback guard in tests/conftest.py refuses anything beyond this machine, before a packet leaves.

The real calls beneath the guard are replaced by tripwires here, so even a broken guard would send
nothing: the address used is 192.0.2.1 (TEST-NET-1, RFC 5737), which no network routes anyway.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from teslalink.errors import ConnectionError as TeslalinkConnectionError
from teslalink.wallconnector import WallConnector

TEST_NET = "192.0.2.1"


@pytest.fixture
def tripwires(loopback_guard: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The real resolve and connect calls, replaced: each records that it was reached and sends nothing."""
    reached: list[str] = []

    def wire(name: str) -> Any:
        def tripped(*args: Any, **kwargs: Any) -> Any:
            reached.append(name)
            raise OSError(f"tripwire: {name} was reached")

        return tripped

    async def tripped_async(*args: Any, **kwargs: Any) -> Any:
        reached.append("create_connection")
        raise OSError("tripwire: create_connection was reached")

    for name in ("real_getaddrinfo", "real_connect", "real_connect_ex"):
        monkeypatch.setattr(loopback_guard, name, wire(name))
    monkeypatch.setattr(loopback_guard, "real_create_connection", tripped_async)
    return reached


def test_a_connect_to_test_net_is_refused_before_anything_is_sent(
    loopback_guard: Any, tripwires: list[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(loopback_guard.error, match=r"loopback guard: .*192\.0\.2\.1"):
            sock.connect((TEST_NET, 80))
        with pytest.raises(loopback_guard.error):
            sock.connect_ex((TEST_NET, 80))
        with pytest.raises(OSError, match="not connected"):
            sock.getpeername()  # never connected
    assert tripwires == []
    refused = loopback_guard.take()
    assert len(refused) == 2
    assert all(TEST_NET in line for line in refused)


def test_a_name_beyond_loopback_is_not_even_resolved(loopback_guard: Any, tripwires: list[str]) -> None:
    with pytest.raises(loopback_guard.error, match=r"owner-api\.teslamotors\.com"):
        socket.getaddrinfo("owner-api.teslamotors.com", 443)
    assert tripwires == []
    assert len(loopback_guard.take()) == 1


async def test_asyncio_and_the_library_are_refused_too(loopback_guard: Any, tripwires: list[str]) -> None:
    with pytest.raises(loopback_guard.error):
        await asyncio.open_connection(TEST_NET, 80)
    with pytest.raises(loopback_guard.error):
        await asyncio.get_running_loop().getaddrinfo("tesla.com", 443)
    async with WallConnector(TEST_NET) as unit:
        with pytest.raises(TeslalinkConnectionError):  # the library's own error; the guard still saw it
            await unit.vitals()
    assert tripwires == []
    refused = loopback_guard.take()
    assert len(refused) >= 3
    assert all("loopback guard" in line for line in refused)


async def test_loopback_and_unix_sockets_pass(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _, writer = await asyncio.open_connection("localhost" if _localhost_is_v4() else "127.0.0.1", port)
        writer.close()
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as listener, socket.socket(socket.AF_UNIX) as client:
        listener.bind(str(path))
        listener.listen()
        client.connect(str(path))


def _localhost_is_v4() -> bool:
    return any(info[0] == socket.AF_INET for info in socket.getaddrinfo("localhost", 80))


PROBE = """
import socket

import pytest


@pytest.fixture(autouse=True)
def _nothing_beneath(loopback_guard, monkeypatch):
    def tripped(*args, **kwargs):
        raise OSError("tripwire")

    monkeypatch.setattr(loopback_guard, "real_connect", tripped)


def test_swallows_the_refusal():
    with socket.socket() as sock:
        try:
            sock.connect(("192.0.2.1", 80))
        except OSError:
            pass  # code under test that hides the error: the guard still fails the test


def test_stays_home():
    assert True
"""


def test_a_test_that_reached_out_fails_even_when_the_error_was_caught(
    run_probe: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    done = run_probe(PROBE)
    assert done.returncode == 1, done.stdout
    errors = [line for line in done.stdout.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, done.stdout
    assert "test_swallows_the_refusal" in errors[0]
    assert "loopback guard: a test tried to reach ('192.0.2.1', 80)" in done.stdout
    assert "2 passed, 1 error" in done.stdout  # the probe's call passes; its teardown fails
