"""The live view of several Wall Connectors, shared by `watch` and `demo`.

Each unit is polled one request at a time (the unit stalls otherwise), all units concurrently.
A unit that fails keeps its last good reading on screen with the error beside it, so a Wi-Fi
drop-out shows as a word, not as a crash or a flood of log lines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from rich.console import Console
from rich.live import Live

from ..errors import TeslalinkError
from ..wallconnector.client import WallConnector
from .wallconnector_view import UnitRow, live_table


async def _poll_forever(client: WallConnector, row: UnitRow, interval_s: float) -> None:
    """Poll one unit on its own schedule, so a slow or offline unit never holds up the others."""
    while True:
        started = time.monotonic()
        try:
            vitals = await client.vitals()
        except TeslalinkError as exc:
            row.error = str(exc)
        else:
            row.vitals, row.power, row.error = vitals, client.power(vitals), None
        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))


async def watch(
    clients: Sequence[WallConnector],
    names: Sequence[str],
    *,
    interval_s: float,
    duration_s: float | None = None,
    title: str = "Wall Connectors",
    console: Console | None = None,
) -> None:
    """Poll every unit each `interval_s` and redraw, until Ctrl-C or `duration_s` has passed."""
    console = console or Console()
    rows = [UnitRow(name) for name in names]
    deadline = None if duration_s is None else time.monotonic() + duration_s
    pollers = [
        asyncio.create_task(_poll_forever(c, r, interval_s)) for c, r in zip(clients, rows, strict=True)
    ]
    redraw_s = min(interval_s, 0.5)
    try:
        with Live(live_table(rows, title), console=console, auto_refresh=False) as live:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(redraw_s)
                live.update(live_table(rows, title), refresh=True)
    finally:
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
