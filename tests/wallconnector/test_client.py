"""The client's connection behaviour against a scripted raw HTTP server on loopback."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from teslalink import errors
from teslalink.wallconnector import EvseState, RetryPolicy, Timeouts, WallConnector, parse_host

FAST_RETRY = RetryPolicy(retries=2, backoff_s=0.01)


def recorded(waits: list[float]):
    """A retry sleep that notes the backoff asked for and waits no real time."""

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    return sleep


@pytest.fixture(params=["lan", "aiohttp"])
async def connect(request):
    """Build clients on both transports: our lean LAN connection, and a caller's aiohttp session."""
    session = aiohttp.ClientSession() if request.param == "aiohttp" else None

    def make(host: str, **options) -> WallConnector:
        return WallConnector(host, session=session, **options)

    yield make
    if session is not None:
        await session.close()


class ScriptedUnit:
    """A loopback TCP server whose answers follow a script: one action per connection."""

    def __init__(self, actions, body: bytes = b'{"evse_state":11,"grid_v":240.0}') -> None:
        self.actions = list(actions)
        self.body = body
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.paths: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                self.paths.append(request.split(b" ")[1].decode())
                action = self.actions.pop(0) if self.actions else "ok"
                if action == "drop":
                    return
                if isinstance(action, float):
                    await asyncio.sleep(action)
                    action = "ok"
                status, body = (b"200 OK", self.body) if action == "ok" else action
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.in_flight -= 1
            writer.close()

    @contextlib.asynccontextmanager
    async def serve(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"127.0.0.1:{port}"
        finally:
            server.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("192.168.1.50", "http://192.168.1.50/"),
        ("192.168.1.50:8080", "http://192.168.1.50:8080/"),
        ("http://twc.local/", "http://twc.local/"),
        ("https://twc.local:8443", "https://twc.local:8443/"),
        ("[::1]:8300", "http://[::1]:8300/"),
        ("  twc.local ", "http://twc.local/"),
    ],
)
def test_host_forms(given, expected):
    assert str(parse_host(given)) == expected


@pytest.mark.parametrize(
    "bad", ["", "ftp://x", "http://", "host:notaport", "http://h/api/1/vitals", "h:99999"]
)
def test_bad_hosts_are_config_errors(bad):
    with pytest.raises(errors.ConfigError):
        parse_host(bad)


async def test_reads_and_decodes_vitals(connect):
    unit = ScriptedUnit([], body=b'{"evse_state":11,"grid_v":240.0,"contactor_closed":true')
    async with unit.serve() as host, connect(host) as wc:
        vitals = await wc.vitals()
    assert vitals.evse_state is EvseState.CHARGING
    assert unit.paths == ["/api/1/vitals"]


async def test_one_request_in_flight_per_unit(connect):
    unit = ScriptedUnit([0.05] * 6)
    async with unit.serve() as host, connect(host) as wc:
        await asyncio.gather(*(wc.vitals() for _ in range(6)))
    assert unit.max_in_flight == 1
    assert unit.connections == 1  # keep-alive: one socket served all six


@pytest.mark.parametrize(
    "answer",
    [
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{"a":1,\r\n9\r\n"b":nan}\n\r\n0\r\n\r\n',
        b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a":1,"b":nan}',
        b'HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\n{"a":1,"b":nan',
    ],
    ids=["chunked", "close-delimited", "http-1.0"],
)
async def test_every_body_framing(connect, answer):
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with connect(f"127.0.0.1:{port}") as wc:
            assert await wc.get_raw("vitals") == {"a": 1, "b": None}
            assert await wc.get_raw("vitals") == {"a": 1, "b": None}  # a new connection after close
    finally:
        server.close()


async def test_idle_connection_closed_by_unit_is_reopened_without_error(connect):
    unit = ScriptedUnit([])

    async def close_after_one(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        unit.connections += 1
        body = unit.body
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()  # no Connection: close header: the client only learns it on the next poll
        del request

    server = await asyncio.start_server(close_after_one, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with connect(f"127.0.0.1:{port}", retry=RetryPolicy(retries=0)) as wc:
            for _ in range(3):
                assert (await wc.vitals()).grid_voltage_v == 240.0
                await asyncio.sleep(0.01)
    finally:
        server.close()
    assert unit.connections == 3


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{}",
    ],
    ids=["not-http", "bad-length", "cut-off"],
)
async def test_malformed_http_is_a_connection_error(answer):
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with WallConnector(f"127.0.0.1:{port}", retry=RetryPolicy(retries=0)) as wc:
            with pytest.raises(errors.ConnectionError, match=str(port)):
                await wc.vitals()
    finally:
        server.close()


async def test_retries_after_drops_without_extra_sockets(connect):
    unit = ScriptedUnit(["drop", "drop"])
    async with unit.serve() as host, connect(host, retry=FAST_RETRY) as wc:
        vitals = await wc.vitals()
    assert vitals.grid_voltage_v == 240.0
    assert unit.connections == 3
    assert unit.max_in_flight == 1


async def test_gives_up_after_bounded_retries_with_host_in_message(connect):
    unit = ScriptedUnit(["drop"] * 10)
    async with unit.serve() as host, connect(host, retry=FAST_RETRY) as wc:
        with pytest.raises(errors.ConnectionError, match=host):
            await wc.vitals()
    # Our 1 + 2 tries; aiohttp itself may retry a dropped idempotent request once (RFC 9112), in
    # sequence. Never two sockets at once.
    assert 3 <= unit.connections <= 6
    assert unit.max_in_flight == 1


async def test_slow_first_byte_within_read_budget_is_fine(connect):
    unit = ScriptedUnit([0.3])
    async with unit.serve() as host, connect(host, timeouts=Timeouts(connect_s=5.0, read_s=10.0)) as wc:
        assert (await wc.vitals()).grid_voltage_v == 240.0


async def test_read_timeout_is_a_timeout_error_naming_the_host(connect):
    """Each try gives up at its 0.1 s budget: the unit would answer at 1.0 s, and timers fire in
    deadline order however loaded the machine is, so the error proves the budget (no wall-clock
    bound here; the figure: `python bench/timings.py`)."""
    unit = ScriptedUnit([1.0] * 3)
    timeouts = Timeouts(connect_s=1.0, read_s=0.1)
    waits: list[float] = []
    options = {"timeouts": timeouts, "retry": RetryPolicy(retries=1), "sleep": recorded(waits)}
    async with unit.serve() as host, connect(host, **options) as wc:
        with pytest.raises(errors.TimeoutError, match=host):
            await wc.vitals()
    assert unit.connections == 2
    assert len(waits) == 1
    assert 0.25 <= waits[0] <= 0.5


async def test_refused_connection_is_a_connection_error(connect):
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with connect(f"127.0.0.1:{port}", retry=RetryPolicy(retries=0)) as wc:
        with pytest.raises(errors.ConnectionError, match=f"127.0.0.1:{port}"):
            await wc.vitals()


async def test_http_error_status_is_api_error(connect):
    unit = ScriptedUnit([(b"404 Not Found", b"nope")])
    async with unit.serve() as host, connect(host) as wc:
        with pytest.raises(errors.ApiError) as info:
            await wc.lifetime()
    assert info.value.status == 404


async def test_undecodable_answer_is_decode_error_with_raw_body(connect):
    body = b'{"energy_wh: 3,'
    unit = ScriptedUnit([], body=body)
    async with unit.serve() as host, connect(host) as wc:
        with pytest.raises(errors.DecodeError, match=host) as info:
            await wc.lifetime()
    assert info.value.raw == body


async def test_borrowed_session_is_not_closed():
    unit = ScriptedUnit([])
    async with unit.serve() as host, aiohttp.ClientSession() as session:
        async with WallConnector(host, session=session) as wc:
            await wc.version()
        assert not session.closed


def test_blocking_facade_uses_the_same_client():
    from teslalink.sync import WallConnector as BlockingWallConnector

    async def serve_forever(ready: asyncio.Future, stop: asyncio.Event) -> None:
        unit = ScriptedUnit([])
        async with unit.serve() as host:
            ready.set_result(host)
            await stop.wait()

    import threading

    loop = asyncio.new_event_loop()
    ready: asyncio.Future = loop.create_future()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve_forever(ready, stop),))
    thread.start()
    try:
        host = asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(ready), 5), loop).result()
        with BlockingWallConnector(host) as wc:
            vitals = wc.vitals()
            assert vitals.evse_state is EvseState.CHARGING
            assert wc.power(vitals).total_w == 0.0
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive()
        loop.close()
