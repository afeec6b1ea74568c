"""Both Wall Connector transports against loopback devices that misbehave on purpose.

Each hostile device is bounded (it stops after a fixed number of writes), and each call is
bounded by `asyncio.wait_for` at many times its budget: a transport that ignored its deadline or
caps fails the test with the builtin TimeoutError (not teslalink's), instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teslalink import errors
from teslalink._lan_http import MAX_BODY, MAX_HEADERS
from teslalink.wallconnector import RetryPolicy, Timeouts, WallConnector

Behaviour = Callable[[asyncio.StreamWriter], Awaitable[None]]
ONE_TRY = RetryPolicy(retries=0)
BUDGET = Timeouts(connect_s=0.5, read_s=0.3)
HANG_GUARD_S = 10.0  # far beyond every budget here: reached only by a transport that ignores its own
OK_HEAD = b"HTTP/1.1 200 OK\r\n"


class HostileUnit:
    """Answers every request by running `behaviour`; counts the bytes it managed to send."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.sent = 0
        self._handlers: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            await self.behaviour(CountingWriter(self, writer))  # type: ignore[arg-type]
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        try:
            yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        finally:
            server.close()
            for task in self._handlers:
                task.cancel()  # a stalling device stops with the test, not at the loop's end
            await asyncio.gather(*self._handlers, return_exceptions=True)


class CountingWriter:
    def __init__(self, unit: HostileUnit, writer: asyncio.StreamWriter) -> None:
        self._unit = unit
        self._writer = writer

    def write(self, data: bytes) -> None:
        self._unit.sent += len(data)
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()


def repeat(head: bytes, piece: bytes, times: int, *, pause_s: float = 0.0) -> Behaviour:
    """Send `head`, then `piece` `times` times, one per loop turn (or every `pause_s`)."""

    async def behaviour(writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        for _ in range(times):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(pause_s)

    return behaviour


async def call(host: str, session: aiohttp.ClientSession | None = None, **options: object) -> object:
    options.setdefault("timeouts", BUDGET)
    options.setdefault("retry", ONE_TRY)
    async with WallConnector(host, session=session, **options) as wc:  # type: ignore[arg-type]
        return await asyncio.wait_for(wc.get_raw("vitals"), HANG_GUARD_S)


CHUNKED = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (repeat(CHUNKED, b"1" * 1024, 40_000), "a line over 8 KiB"),
        (repeat(CHUNKED + b"0\r\n", b"X-Trailer: more\r\n", 40_000), f"more than {MAX_HEADERS} trailers"),
        (repeat(OK_HEAD, b"X-Header: more\r\n", 40_000), "a response head over 16 KiB"),
        (repeat(OK_HEAD + b"Connection: close\r\n\r\n", b"x" * 65536, 1000), "over 4 MiB"),
        (repeat(CHUNKED, b"100000\r\n" + b"x" * 0x100000 + b"\r\n", 60), "over 4 MiB"),
        (repeat(OK_HEAD + b"Content-Length: 50000000\r\n\r\n", b"x" * 65536, 800), "Content-Length"),
    ],
    ids=[
        "endless-chunk-size-line",
        "endless-trailers",
        "endless-headers",
        "huge-close-delimited-body",
        "huge-chunked-body",
        "50-MB-content-length",
    ],
)
async def test_lean_transport_caps_what_it_keeps(behaviour, message):
    unit = HostileUnit(behaviour)
    tracemalloc.start()
    try:
        async with unit.serve() as host:
            with pytest.raises(errors.ConnectionError, match=message):
                await call(host, timeouts=Timeouts(connect_s=1.0, read_s=5.0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_BODY  # the caps, not the device, decide what we hold


@pytest.mark.parametrize(
    "behaviour",
    [
        repeat(OK_HEAD + b"Content-Length: 4000000\r\n\r\n", b"x", 1_000_000),
        repeat(CHUNKED, b"1\r\nx\r\n", 1_000_000),
        repeat(CHUNKED, b"1\r\nx\r\n" * 10_000, 1_000),
        repeat(OK_HEAD, b"X", 1_000_000, pause_s=0.001),
    ],
    ids=["body", "chunks", "a-flood-of-tiny-chunks", "head"],
)
async def test_lean_transport_read_budget_is_a_deadline_for_the_whole_answer(behaviour):
    unit = HostileUnit(behaviour)  # one byte (or one tiny chunk) per loop turn, for ever
    async with unit.serve() as host:
        with pytest.raises(errors.TimeoutError, match=r"no answer within 0\.3 s"):
            await call(host)


async def test_aiohttp_path_refuses_a_50_mb_body_without_reading_it_whole():
    unit = HostileUnit(repeat(OK_HEAD + b"Content-Length: 50000000\r\n\r\n", b"x" * 65536, 763))
    async with unit.serve() as host, aiohttp.ClientSession() as session:
        with pytest.raises(errors.ConnectionError, match="over 4 MiB"):
            await call(host, session, timeouts=Timeouts(connect_s=1.0, read_s=5.0))
    assert unit.sent < 25_000_000


async def test_aiohttp_path_caps_a_chunked_body_as_it_streams():
    unit = HostileUnit(repeat(CHUNKED, b"10000\r\n" + b"x" * 0x10000 + b"\r\n", 763))
    async with unit.serve() as host, aiohttp.ClientSession() as session:
        with pytest.raises(errors.ConnectionError, match="over 4 MiB"):
            await call(host, session, timeouts=Timeouts(connect_s=1.0, read_s=5.0))
    assert unit.sent < 25_000_000


async def test_aiohttp_path_read_budget_is_a_total_deadline():
    unit = HostileUnit(repeat(OK_HEAD + b"Content-Length: 1000\r\n\r\n", b"x", 100, pause_s=0.3))
    async with unit.serve() as host, aiohttp.ClientSession() as session:
        with pytest.raises(errors.TimeoutError, match=r"no answer within 1\.5 s"):
            await call(host, session, timeouts=Timeouts(connect_s=0.5, read_s=1.0))


async def stall(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(HANG_GUARD_S)


async def test_a_unit_that_never_answers_costs_one_budget_not_one_per_retry():
    unit = HostileUnit(stall)
    async with unit.serve() as host:
        with pytest.raises(errors.TimeoutError):
            await call(host, timeouts=Timeouts(connect_s=0.1, read_s=0.5), retry=RetryPolicy())
    # The default policy's first backoff (0.25-0.5 s) would start a try past the 0.6 s budget.
    assert unit.connections == 1


async def test_a_retry_is_cut_at_the_shared_deadline():
    attempts: list[str] = []

    async def drop_then_stall(writer: asyncio.StreamWriter) -> None:
        attempts.append("try")
        if len(attempts) > 1:
            await stall(writer)

    unit = HostileUnit(drop_then_stall)
    timeouts = Timeouts(connect_s=0.5, read_s=0.8)
    async with unit.serve() as host:
        with pytest.raises(errors.TimeoutError, match=r"no answer within 1\.3 s in all"):
            await call(host, timeouts=timeouts, retry=RetryPolicy(retries=5, backoff_s=0.01))
    # A drop, a try that spends its read budget, and a third try cut at the shared deadline.
    assert unit.connections == 3


def answer(raw: bytes) -> Behaviour:
    async def behaviour(writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return behaviour


@pytest.fixture(params=["lan", "aiohttp"])
async def session(request):
    if request.param == "lan":
        yield None
    else:
        async with aiohttp.ClientSession() as opened:
            yield opened


@pytest.mark.parametrize(
    "raw",
    [
        OK_HEAD + "Content-Length: ²\r\n\r\n{}".encode("latin-1"),
        "HTTP/1.1 ²00 OK\r\nContent-Length: 2\r\n\r\n{}".encode("latin-1"),
        OK_HEAD + b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n{}",
        OK_HEAD + b"Content-Length: -1\r\n\r\n{}",
        OK_HEAD + b"Content-Length: 0x2\r\n\r\n{}",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}",
        CHUNKED + b"-2\r\n{}\r\n0\r\n\r\n",
        CHUNKED + b"0x2\r\n{}\r\n0\r\n\r\n",
        CHUNKED + b"1_0\r\n{}\r\n0\r\n\r\n",
        CHUNKED + b"f" * 5000 + b"\r\n{}\r\n0\r\n\r\n",
        CHUNKED + b"1\r\n{}\r\n0\r\n\r\n",
    ],
    ids=[
        "superscript-length",
        "superscript-status",
        "5000-digit-length",
        "negative-length",
        "hex-length",
        "four-digit-status",
        "negative-chunk",
        "0x-chunk",
        "underscore-chunk",
        "5000-digit-chunk",
        "chunk-longer-than-its-size",
    ],
)
async def test_malformed_framing_is_a_teslalink_error_on_both_transports(session, raw):
    unit = HostileUnit(answer(raw))
    async with unit.serve() as host:
        with pytest.raises(errors.TeslalinkError):
            await call(host, session)


async def test_the_lean_transport_names_the_bad_framing():
    unit = HostileUnit(answer(OK_HEAD + "Content-Length: ²\r\n\r\n{}".encode("latin-1")))
    async with unit.serve() as host:
        with pytest.raises(errors.ConnectionError, match="a bad Content-Length '²'"):
            await call(host)


SUPERSCRIPT_TWO = "²".encode("latin-1")  # b"\xb2": passes str.isdigit() once decoded as latin-1
status_lines = st.sampled_from(
    [b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 " + SUPERSCRIPT_TWO + b"00 OK", b"HTTP/1.1 99"]
) | st.binary(max_size=24)
header_names = st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"Connection", b"X"])
header_values = st.sampled_from(
    [b"2", b"chunked", b"close", b"keep-alive", SUPERSCRIPT_TWO, b"9" * 5000, b"-1", b" 2 "]
) | st.binary(max_size=12)
bodies = st.sampled_from([b"{}", b"2\r\n{}\r\n0\r\n\r\n", b"0\r\n\r\n", b'{"grid_v":"\\ud800"}']) | st.binary(
    max_size=48
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=status_lines,
    headers=st.lists(st.tuples(header_names, header_values), max_size=4),
    body=bodies,
    via_aiohttp=st.booleans(),
)
def test_fuzzed_framing_lets_only_teslalink_errors_escape(status, headers, body, via_aiohttp):
    raw = status + b"\r\n" + b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    raw += b"\r\n" + body

    async def one() -> None:
        unit = HostileUnit(answer(raw))  # then the unit closes: nothing waits for a budget to run out
        async with unit.serve() as host:
            if via_aiohttp:
                async with aiohttp.ClientSession() as opened:
                    await call(host, opened)
            else:
                await call(host)

    with contextlib.suppress(errors.TeslalinkError):
        asyncio.run(one())
