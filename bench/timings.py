"""The wall-clock figures the tests no longer assert, measured and printed here.

    python bench/timings.py [--repeat 5] [--json]

Tests check behaviour only: a bound on speed fails on a loaded machine (CI once failed on a
year of advance taking 1.34 s against a 1.0 s limit while another process was busy). What those
bounds watched is measured here instead, best of `--repeat` runs, on loopback:

- a year of advance: one `World.advance` of 365 days on a winter solar + Powerwall site, then
  its live status (the test: tests/simulator/test_site_physics.py, "a year of advance");
- a read timeout: a Wall Connector that answers after 1 s, read budget 0.1 s, one retry: the
  time until the TimeoutError (tests/wallconnector/test_client.py);
- a slow first byte: connecting to a unit whose first byte comes 0.3 s late (the connect) and
  the wait for that byte (tests/simulator/test_server.py);
- a stall: a request alone, the first of two concurrent ones and the second, which stalls 1 s,
  on a unit with the stall quirk (tests/simulator/test_server.py);
- stopping a unit with a 30-s stalled answer pending (tests/simulator/test_server.py).

The streaming parser's µs per update, once printed by a test, is in `python bench/cloud.py`
("stream updates parsed per s").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from teslalink import errors
from teslalink.simulator import Quirks, WallConnectorServer, World, serve_wall_connectors
from teslalink.wallconnector import RetryPolicy, Timeouts, WallConnector

HERE = Path(__file__).parent

WINTER = datetime(2024, 1, 15, tzinfo=UTC).timestamp()
HANG_GUARD = aiohttp.ClientTimeout(total=60)


def a_year_of_advance() -> dict[str, float]:
    world = World(seed=1, speed=0.0, start=WINTER)
    account = world.add_account("bench@teslalink.test", "bench")
    site = world.add_energy_site(account)
    began = time.perf_counter()
    world.advance(365 * 86_400)
    site.live_status()
    return {"a year of advance s": time.perf_counter() - began}


async def a_read_timeout() -> dict[str, float]:
    release = asyncio.Event()

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 1.0)  # an answer 1 s late, or none at the end
        writer.close()

    server = await asyncio.start_server(late, "127.0.0.1", 0)
    host = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    timeouts = Timeouts(connect_s=1.0, read_s=0.1)
    try:
        async with WallConnector(host, timeouts=timeouts, retry=RetryPolicy(retries=1)) as unit:
            began = time.perf_counter()
            try:
                await unit.vitals()
            except errors.TimeoutError:
                pass
            else:
                raise RuntimeError("the read timeout did not fire")
            return {"read timeout (budget 0.1 s, one retry) s": time.perf_counter() - began}
    finally:
        release.set()
        await asyncio.sleep(0)  # the handlers close their sockets
        server.close()


async def a_slow_first_byte() -> dict[str, float]:
    world = World(seed=1, speed=0.0)
    world.add_wall_connector(quirks=Quirks(slow_first_byte_s=0.3))
    async with serve_wall_connectors(world) as servers:
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection(servers[0].host, servers[0].port)
        connected = time.perf_counter() - began
        writer.write(b"GET /api/1/vitals HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        sent = time.perf_counter()
        await reader.read(1)
        first_byte = time.perf_counter() - sent
        await reader.read()
        writer.close()
        await writer.wait_closed()
    return {"connect, first byte 0.3 s late s": connected, "first byte 0.3 s late s": first_byte}


async def a_stall() -> dict[str, float]:
    world = World(seed=1, speed=0.0)
    world.add_wall_connector(quirks=Quirks(stall_on_concurrent=True, stall_s=1.0))
    async with serve_wall_connectors(world) as servers, aiohttp.ClientSession(timeout=HANG_GUARD) as session:
        url = f"{servers[0].url}/api/1/vitals"

        async def timed(delay: float) -> float:
            await asyncio.sleep(delay)
            began = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
            return time.perf_counter() - began

        alone = await timed(0)
        first, second = await asyncio.gather(timed(0), timed(0.01))
        one_at_a_time = time.perf_counter()
        for _ in range(5):
            await timed(0)
        sequential = time.perf_counter() - one_at_a_time
    return {
        "stall quirk: a request alone s": alone,
        "stall quirk: the first of two s": first,
        "stall quirk: the second of two (stalls 1 s) s": second,
        "stall quirk: five one at a time s": sequential,
    }


async def a_stop_with_a_stalled_answer() -> dict[str, float]:
    world = World(seed=1, speed=0.0)
    world.add_wall_connector(quirks=Quirks(slow_first_byte_s=30))
    async with aiohttp.ClientSession(timeout=HANG_GUARD) as session:
        server = WallConnectorServer(world.wall_connectors[0])
        await server.start()
        pending = asyncio.create_task(session.get(f"{server.url}/api/1/vitals"))
        while server.handler.in_flight == 0:  # noqa: ASYNC110 - the count has no event
            await asyncio.sleep(0.001)
        began = time.perf_counter()
        await server.stop()
        stopped = time.perf_counter() - began
        await asyncio.gather(pending, return_exceptions=True)
    return {"stop() with a 30-s answer pending s": stopped}


def best_of(repeat: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    runs = [measure() for _ in range(repeat)]
    return {name: min(run[name] for run in runs) for name in runs[0]}


def in_a_loop(factory: Callable[[], Coroutine[Any, Any, dict[str, float]]]) -> Callable[[], dict[str, float]]:
    """A measurement that runs `factory` in a fresh event loop."""
    return lambda: asyncio.run(factory())


def main(args: argparse.Namespace) -> None:
    results: dict[str, Any] = {}
    results.update(best_of(args.repeat, a_year_of_advance))
    for factory in (a_read_timeout, a_slow_first_byte, a_stall, a_stop_with_a_stalled_answer):
        results.update(best_of(args.repeat, in_a_loop(factory)))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "timings.json").write_text(json.dumps(results, indent=2))
    if args.json:
        print(json.dumps(results))
        return
    print(f"best of {args.repeat}, python {sys.version.split()[0]}\n")
    print("| measurement | ms |\n|---|---|")
    for name, seconds in results.items():
        print(f"| {name.removesuffix(' s')} | {seconds * 1e3:,.1f} |")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="Runs of each measurement; the best is shown.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    return parser.parse_args()


if __name__ == "__main__":
    main(parse_args())
