"""The live view of several Wall Connectors, shared by `watch` and `demo`.

Each unit is polled on its own schedule, one request at a time (the unit stalls otherwise). A
unit that fails keeps its last good reading on screen with the error beside it, so a Wi-Fi
drop-out shows as a word, not as a crash or a flood of log lines.

Every reading also feeds the unit's `SessionMonitor` and, once a minute, its `LifetimeEnergy`
counter: a finished session is printed above the table, and the caption shows the lifetime energy
with whatever impossible jumps were rejected. With a state file both continue after a restart.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table

from .._files import atomic_write_bytes
from ..errors import ConfigError, TeslalinkError
from ..wallconnector.client import WallConnector
from ..wallconnector.energy import ChargingSession, LifetimeEnergy, SessionMonitor
from ._common import safe_console
from .wallconnector_view import UnitRow, live_table

LIFETIME_EVERY_S = 60.0


class UnitWatch:
    """One unit on screen: its client, its last reading and its energy bookkeeping."""

    def __init__(self, client: WallConnector, name: str, clock: Callable[[], float]) -> None:
        self.client = client
        self.row = UnitRow(name)
        self.clock = clock
        self.sessions = SessionMonitor()
        self.lifetime = LifetimeEnergy()
        self.finished: list[ChargingSession] = []
        self._car_seen: bool | None = None  # since the last lifetime reading; None = unknown

    async def poll_forever(self, interval_s: float) -> None:
        """Poll on this unit's own schedule, so a slow or offline unit never holds up the others."""
        next_lifetime = 0.0
        while True:
            started = time.monotonic()
            await self._read_vitals()
            if started >= next_lifetime:
                await self._read_lifetime()
                next_lifetime = started + LIFETIME_EVERY_S
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))

    async def _read_vitals(self) -> None:
        try:
            vitals = await self.client.vitals()
        except TeslalinkError as exc:
            self.row.error = str(exc)
            self._car_seen = None
            return
        power = self.client.power(vitals)
        self.row.vitals, self.row.power, self.row.error = vitals, power, None
        if vitals.vehicle_connected is not False and self._car_seen is not None:
            self._car_seen = True
        ended = self.sessions.feed(self.clock(), vitals, power)
        if ended is not None:
            self.finished.append(ended)

    async def _read_lifetime(self) -> None:
        try:
            lifetime = await self.client.lifetime()
        except TeslalinkError as exc:
            self.row.error = str(exc)
            return
        self.lifetime.feed(self.clock(), lifetime.energy_wh, car_connected=self._car_seen)
        vitals = self.row.vitals
        self._car_seen = None if vitals is None else vitals.vehicle_connected

    def save(self, path: Path) -> None:
        state = {"sessions": self.sessions.to_state(), "lifetime": self.lifetime.to_state()}
        atomic_write_bytes(path, orjson.dumps(state))

    def load(self, path: Path) -> None:
        """Continue from a state file; a missing file is a first run, a bad one a clear error."""
        try:
            state = orjson.loads(path.read_bytes())
            self.sessions.restore(state["sessions"])
            self.lifetime.restore(state["lifetime"])
        except FileNotFoundError:
            return
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ConfigError) as exc:
            raise ConfigError(
                f"state file {os.fspath(path)!r} cannot be used ({exc}); move it away"
            ) from None


def session_line(name: str, session: ChargingSession) -> str:
    """One line for a finished session: what a user would write in a logbook."""
    energy = session.energy_wh if session.energy_wh is not None else session.integrated_wh
    check = {True: "agrees", False: "DISAGREES", None: "not checked"}[session.agrees]
    minutes = session.duration_s / 60
    integrated = session.integrated_wh / 1000
    return (
        f"{name}: session ended after {minutes:.0f} min, {energy / 1000:.2f} kWh "
        f"(integrated power {integrated:.2f} kWh, {check}), peak {session.peak_w / 1000:.1f} kW"
    )


def lifetime_caption(units: Sequence[UnitWatch]) -> str:
    parts = []
    for unit in units:
        counter = unit.lifetime
        if counter.baseline_wh is None:
            continue
        text = f"{unit.row.name}: lifetime {counter.total_wh / 1000:,.1f} kWh"
        if counter.rejected_jumps:
            ignored = counter.rejected_wh / 1000
            text += f" ({ignored:,.1f} kWh in {counter.rejected_jumps} impossible jumps ignored)"
        parts.append(text)
    return " · ".join(parts)


async def watch(
    clients: Sequence[WallConnector],
    names: Sequence[str],
    *,
    interval_s: float,
    duration_s: float | None = None,
    title: str = "Wall Connectors",
    console: Console | None = None,
    clock: Callable[[], float] = time.time,
    state_path: Path | None = None,
) -> None:
    """Poll every unit each `interval_s` and redraw, until Ctrl-C or `duration_s` has passed.

    `clock` stamps readings (the world clock in the demo); `state_path` keeps one unit's energy
    bookkeeping across restarts.
    """
    console = console or safe_console()
    units = [UnitWatch(c, n, clock) for c, n in zip(clients, names, strict=True)]
    if state_path is not None:
        if len(units) != 1:
            raise ConfigError("a state file keeps one unit's energy; watch one unit with it")
        units[0].load(state_path)
    deadline = None if duration_s is None else time.monotonic() + duration_s
    pollers = [asyncio.create_task(u.poll_forever(interval_s)) for u in units]

    def draw() -> Table:
        table = live_table([u.row for u in units], title)
        table.caption = lifetime_caption(units) or None
        return table

    try:
        with Live(draw(), console=console, auto_refresh=False) as live:
            while deadline is None or time.monotonic() < deadline:
                await asyncio.sleep(min(interval_s, 0.5))
                for unit in units:
                    while unit.finished:
                        live.console.print(session_line(unit.row.name, unit.finished.pop(0)))
                live.update(draw(), refresh=True)
    finally:
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        if state_path is not None:
            units[0].save(state_path)
