"""One polling run in its own process (so peak RSS and CPU are this client's alone).

    python bench/wallconnector_poll.py ours|peer URLS_JSON POLLS

Prints one JSON object: polls, wall seconds, CPU seconds, latencies p50/p99, peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import tesla_wall_connector

from teslalink.wallconnector import WallConnector


async def poll_ours(urls: list[str], polls: int, latencies: list[float]) -> int:
    clients = [WallConnector(url) for url in urls]

    async def one_unit(client: WallConnector) -> None:
        for _ in range(polls):
            started = time.perf_counter()
            vitals = await client.vitals()
            client.power(vitals)
            latencies.append(time.perf_counter() - started)

    try:
        await _timed_gather([one_unit(c) for c in clients])
    finally:
        for client in clients:
            await client.close()
    return len(clients) * polls


async def poll_peer(urls: list[str], polls: int, latencies: list[float]) -> int:
    # As Home Assistant uses it: one shared session, split_phase where the unit is split-phase.
    async with aiohttp.ClientSession() as session:
        clients = [
            tesla_wall_connector.WallConnector(url.removeprefix("http://"), session=session) for url in urls
        ]

        async def one_unit(client: tesla_wall_connector.WallConnector) -> None:
            for _ in range(polls):
                started = time.perf_counter()
                vitals = await client.async_get_vitals()
                _ = vitals.total_power_w
                latencies.append(time.perf_counter() - started)

        await _timed_gather([one_unit(c) for c in clients])
    return len(clients) * polls


async def _timed_gather(coros: list[Awaitable[None]]) -> None:
    await asyncio.gather(*coros)


RUNNERS: dict[str, Callable[[list[str], int, list[float]], Awaitable[int]]] = {
    "ours": poll_ours,
    "peer": poll_peer,
}


def main() -> None:
    which, urls_file, polls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(urls_file) as handle:
        urls = json.load(handle)
    latencies: list[float] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    count = asyncio.run(RUNNERS[which](urls, polls, latencies))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        json.dumps(
            {
                "client": which,
                "polls": count,
                "wall_s": wall,
                "cpu_s": cpu,
                "polls_per_s": count / wall,
                "polls_per_cpu_s": count / cpu,
                "cpu_us_per_poll": cpu / count * 1e6,
                "p50_ms": quantiles[49] * 1e3,
                "p99_ms": quantiles[98] * 1e3,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
