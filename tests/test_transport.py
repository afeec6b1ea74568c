"""The transport seam: one public home, one call shape, one attempt loop, one place for third-party errors."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

import teslalink
import teslalink.cloud
import teslalink.wallconnector
from teslalink import errors
from teslalink._http import Transport
from teslalink._lan_http import LanTransport
from teslalink.cloud import CloudUrls, StaticToken, TeslaApi
from teslalink.transport import NO_RETRY, HttpTransport, Response, RetryPolicy, Timeouts
from teslalink.wallconnector import WallConnector

SRC = Path(teslalink.__file__).parent
HANG_GUARD_S = 10.0


class FakeTime:
    """A monotonic clock that only the retry sleeps move: backoff is asked for, never waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def answers(*outcomes: Response | Exception) -> tuple[Callable[[], object], list[int]]:
    """A send() that plays `outcomes` in turn (the last one again when they run out)."""
    sent: list[int] = []

    async def send() -> Response:
        outcome = outcomes[min(len(sent), len(outcomes) - 1)]
        sent.append(1)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, sent


OK = Response(200, {}, b"{}")
BUSY = Response(503, {}, b"")
DROPPED = errors.ConnectionError("unit: the connection was closed before an answer")


# --- one public home ------------------------------------------------------------------------------


def test_timeouts_and_retry_policy_have_one_public_home_re_exported_where_users_look() -> None:
    for package in (teslalink.wallconnector, teslalink.cloud):
        assert package.RetryPolicy is RetryPolicy
        assert package.Timeouts is Timeouts
        assert {"RetryPolicy", "Timeouts"} <= set(package.__all__)
    assert RetryPolicy.__module__ == Timeouts.__module__ == "teslalink.transport"


def test_the_cloud_client_does_not_import_the_wall_connector() -> None:
    """The layers: both clients sit on the transport; neither reaches into the other."""
    found = _imports_of(SRC / "cloud" / "api.py")
    assert not [name for name in found if "wallconnector" in name]


def _imports_of(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


# --- one place translates third-party exceptions --------------------------------------------------

SEAM = {"_http.py", "_lan_http.py", "_json.py"}
SERVERS = {"service/listener.py"}
"""Servers built on aiohttp (the service's HTTP listener), as the twin is: not clients of the seam."""


def _runtime_imports(path: Path) -> set[str]:
    """Top-level package names imported outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in SRC.rglob("*.py")
        if p.name not in SEAM
        and p.relative_to(SRC).parts[0] not in ("simulator", "cli")
        and p.relative_to(SRC).as_posix() not in SERVERS
    ),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_only_the_seam_uses_aiohttp_and_orjson(path: Path) -> None:
    """The library's clients name no third-party HTTP or JSON library: the seam translates their errors.

    (The twin and the service's listener are servers built on aiohttp, and the CLI renders; none is
    a client of the seam.)
    """
    assert not _runtime_imports(path) & {"aiohttp", "orjson"}


# --- one call shape -------------------------------------------------------------------------------


async def test_both_transports_answer_the_same_call_alike() -> None:
    async def vitals(request: web.Request) -> web.Response:
        return web.json_response({"grid_v": 240.0}, headers={"X-Path": request.path})

    app = web.Application()
    app.router.add_get("/api/1/vitals", vitals)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = URL(f"http://127.0.0.1:{port}/")
    url = base.with_path("/api/1/vitals")
    transports: list[HttpTransport] = [LanTransport(base), Transport()]
    try:
        got = [await asyncio.wait_for(t.request("GET", url), HANG_GUARD_S) for t in transports]
    finally:
        for transport in transports:
            await transport.close()
        await runner.cleanup()
    expected = (200, "/api/1/vitals", b'{"grid_v": 240.0}')
    assert [(r.status, r.headers.get("x-path"), r.body) for r in got] == [expected] * 2


async def test_the_lean_transport_refuses_what_it_cannot_send() -> None:
    lan = LanTransport(URL("http://127.0.0.1:9/"))
    with pytest.raises(errors.ConfigError, match="GET only"):
        await lan.request("POST", URL("http://127.0.0.1:9/api/1/vitals"))
    with pytest.raises(errors.ConfigError, match=r"speaks to 127\.0\.0\.1:9 only"):
        await lan.request("GET", URL("http://192.0.2.1/api/1/vitals"))


# --- the one attempt loop -------------------------------------------------------------------------


async def test_a_transport_failure_is_retried_with_growing_jittered_backoff() -> None:
    time = FakeTime()
    send, sent = answers(DROPPED, DROPPED, OK)
    assert await RetryPolicy().run(send, sleep=time.sleep, clock=time.clock) is OK
    assert len(sent) == 3
    assert 0.25 <= time.waits[0] <= 0.5
    assert 0.5 <= time.waits[1] <= 1.0


async def test_the_retries_are_bounded_and_the_last_failure_is_raised() -> None:
    time = FakeTime()
    send, sent = answers(DROPPED)
    with pytest.raises(errors.ConnectionError, match="closed before an answer"):
        await RetryPolicy(retries=2).run(send, sleep=time.sleep, clock=time.clock)
    assert len(sent) == 3
    assert len(time.waits) == 2


async def test_no_retry_sends_once_whatever_happens() -> None:
    time = FakeTime()
    send, sent = answers(DROPPED, OK)
    with pytest.raises(errors.ConnectionError):
        await NO_RETRY.run(send, again=lambda r: True, sleep=time.sleep, clock=time.clock)
    send, sent = answers(BUSY, OK)
    assert await NO_RETRY.run(send, again=lambda r: True, sleep=time.sleep, clock=time.clock) is BUSY
    assert len(sent) == 1
    assert time.waits == []


async def test_an_answer_named_worth_another_try_honours_its_retry_after() -> None:
    time = FakeTime()
    send, _sent = answers(Response(503, {"Retry-After": "3"}, b""), OK)
    policy = RetryPolicy(max_backoff_s=4.0)
    assert await policy.run(send, again=lambda r: r.status >= 500, sleep=time.sleep, clock=time.clock) is OK
    assert time.waits == [3.0]


async def test_a_retry_after_beyond_the_policy_returns_the_answer_at_once() -> None:
    time = FakeTime()
    slow = Response(503, {"Retry-After": "30"}, b"")
    send, sent = answers(slow, OK)
    policy = RetryPolicy(max_backoff_s=4.0)
    assert await policy.run(send, again=lambda r: r.status >= 500, sleep=time.sleep, clock=time.clock) is slow
    assert len(sent) == 1
    assert time.waits == []


async def test_no_try_starts_past_the_shared_budget() -> None:
    time = FakeTime()
    send, sent = answers(DROPPED)
    policy = RetryPolicy(retries=5, backoff_s=1.0, max_backoff_s=1.0)
    with pytest.raises(errors.ConnectionError):
        await policy.run(send, budget_s=2.0, sleep=time.sleep, clock=time.clock)
    # Waits of 0.5-1 s each, and every try starts within the 2 s: two tries at least, four at most.
    assert 2 <= len(sent) <= 4
    assert len(time.waits) == len(sent) - 1
    assert sum(time.waits) < 2.0


async def test_a_retry_is_cut_at_the_budget_and_names_the_host() -> None:
    async def send() -> Response:
        if not calls:
            calls.append(1)
            raise DROPPED
        calls.append(1)
        await asyncio.sleep(HANG_GUARD_S)
        return OK

    calls: list[int] = []
    with pytest.raises(errors.TimeoutError, match=r"unit:80: no answer within 0\.2 s in all"):
        await asyncio.wait_for(
            RetryPolicy(backoff_s=0.001).run(send, budget_s=0.2, where="unit:80"), HANG_GUARD_S
        )
    assert len(calls) == 2


# --- both clients retry through it, with the sleep injected ---------------------------------------


async def test_the_wall_connector_retries_a_dropped_unit_without_waiting_real_backoff() -> None:
    drops = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal drops
        await reader.readuntil(b"\r\n\r\n")
        if drops < 2:
            drops += 1
            writer.close()
            return
        body = b'{"grid_v": 240.0}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    time = FakeTime()
    try:
        async with WallConnector(f"127.0.0.1:{port}", sleep=time.sleep, clock=time.clock) as wc:
            vitals = await asyncio.wait_for(wc.vitals(), HANG_GUARD_S)
    finally:
        server.close()
    assert vitals.grid_voltage_v == 240.0
    assert len(time.waits) == 2
    assert 0.25 <= time.waits[0] <= 0.5
    assert 0.5 <= time.waits[1] <= 1.0


async def test_the_cloud_client_retries_a_5xx_read_through_the_same_loop() -> None:
    served: list[str] = []

    async def products(request: web.Request) -> web.Response:
        served.append(request.path)
        if len(served) == 1:
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "2"})
        return web.json_response({"response": [], "count": 0})

    app = web.Application()
    app.router.add_get("/api/1/products", products)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    time = FakeTime()
    urls = CloudUrls(api=f"http://127.0.0.1:{port}/")
    try:
        async with TeslaApi(urls, StaticToken("t"), sleep=time.sleep, clock=time.clock) as api:
            assert await asyncio.wait_for(api.products(), HANG_GUARD_S) == []
    finally:
        await runner.cleanup()
    assert served == ["/api/1/products"] * 2
    assert time.waits == [2.0]  # the server's Retry-After, asked of the injected sleep


# --- aiohttp stays lazy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import teslalink.transport, teslalink.wallconnector, teslalink.cloud",
        "import sys; sys.argv = ['teslalink', '--help']\n"
        "from teslalink.cli.main import cli\n"
        "try:\n    cli()\nexcept SystemExit:\n    pass",
    ],
    ids=["the-packages", "teslalink---help"],
)
def test_aiohttp_is_imported_only_when_a_request_needs_it(code: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}
    probe = f"{code}\nimport sys\nprint('aiohttp' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


async def test_a_borrowed_session_serves_the_transport_and_stays_open() -> None:
    async with aiohttp.ClientSession() as session:
        transport = Transport(session)
        await transport.close()
        assert not session.closed


async def test_an_answer_is_not_retried_past_the_shared_budget() -> None:
    time = FakeTime()
    send, sent = answers(BUSY, OK)
    policy = RetryPolicy(backoff_s=2.0, max_backoff_s=2.0)  # every wait at least 1 s
    assert (
        await policy.run(send, again=lambda r: True, budget_s=1.0, sleep=time.sleep, clock=time.clock) is BUSY
    )
    assert len(sent) == 1
    assert time.waits == []


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("30", 30.0), ("-5", 0.0), ("inf", None), ("nan", None), ("1e12", 86_400.0), ("soon", None)],
)
def test_retry_after_is_a_bounded_finite_wait_or_none(header: str, seconds: float | None) -> None:
    from teslalink.transport import retry_after

    assert retry_after({"Retry-After": header}) == seconds


async def test_a_failure_names_the_host_never_the_user_or_password_of_the_url() -> None:
    """A URL may carry credentials (a webhook's user:pass): an error names host and port only."""
    import socket

    with socket.socket() as bound:  # bound, not listening: a connection is refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        transport = Transport(timeouts=Timeouts(connect_s=5.0, read_s=5.0))
        try:
            with pytest.raises(errors.TeslalinkError) as caught:
                await asyncio.wait_for(
                    transport.request("POST", URL(f"http://owner:s3cr3t-pw@127.0.0.1:{port}/hook/s3cr3t")),
                    HANG_GUARD_S,
                )
        finally:
            await transport.close()
    text = str(caught.value)
    assert f"127.0.0.1:{port}" in text
    assert "s3cr3t" not in text
    assert "owner" not in text
