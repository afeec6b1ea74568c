"""The live view of several Wall Connectors, shared by `watch` and `demo`.

Each unit is the library's `UnitMonitor` (teslalink.wallconnector.monitor), polled on its own
schedule: vitals each interval, the lifetime counter once a minute, the energy bookkeeping, the
last good reading kept beside an error. This module only shows them: a finished session is
printed above the table, and the caption shows the lifetime energy with whatever impossible
jumps were rejected. With a state file (the monitor's one format) both continue after a restart;
the file is written at start (so a bad path fails before any polling), every minute and at exit.

On a terminal the table is redrawn in place and `q` quits; into a pipe or a file each reading is
one plain line, or one JSON object with `--json`. A poller can only end by dying of an error the
client did not translate: the view then stops with one line (exit code 1) instead of freezing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.live import Live

from ..errors import ConfigError, TeslalinkError
from ..wallconnector.client import WallConnector
from ..wallconnector.energy import ChargingSession
from ..wallconnector.monitor import StateNotSaved, UnitMonitor, UnitReading
from ._common import json_text, safe_console, to_jsonable
from ._text import printable
from .wallconnector_view import live_table, unit_line


class PollingStopped(TeslalinkError):
    """A unit's poller died of an error nobody expected: the view would freeze, so the command ends."""


@dataclass
class Watched:
    """One unit on screen: the library's monitor, and its readings since the view last drew."""

    monitor: UnitMonitor
    readings: list[UnitReading] = field(default_factory=list)

    def add(self, reading: UnitReading) -> None:
        self.readings.append(reading)

    def take_updates(self) -> list[UnitReading]:
        readings, self.readings = self.readings, []
        return readings


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


def lifetime_caption(units: Sequence[Watched]) -> str:
    parts = []
    for unit in units:
        counter = unit.monitor.lifetime
        if counter.baseline_wh is None:
            continue
        text = f"{unit.monitor.name}: lifetime {counter.total_wh / 1000:,.1f} kWh"
        if counter.rejected_jumps:
            ignored = counter.rejected_wh / 1000
            text += f" ({ignored:,.1f} kWh in {counter.rejected_jumps} impossible jumps ignored)"
        parts.append(text)
    return "\n".join(parts)  # one line per unit: side by side they overflow 80 columns


class LiveOutput:
    """On a terminal: the table redrawn in place, finished sessions printed above it, the keys below."""

    def __init__(self, console: Console, title: str, keys: str | None) -> None:
        self.console, self.title, self.keys = console, title, keys
        self._live: Live | None = None

    def __enter__(self) -> LiveOutput:
        self._live = Live(console=self.console, auto_refresh=False)
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._live is not None
        self._live.__exit__(None, None, None)

    def update(self, units: Sequence[Watched]) -> None:
        assert self._live is not None
        for unit in units:
            for update in unit.take_updates():
                if update.session_ended is not None:
                    self._live.console.print(session_line(unit.monitor.name, update.session_ended))
        table = live_table([u.monitor for u in units], self.title)
        caption = [lifetime_caption(units), self.keys or ""]
        table.caption = "\n".join(part for part in caption if part) or None
        self._live.update(table, refresh=True)


class LineOutput:
    """Not a terminal (a pipe, a file): one plain line per unit per reading, nothing redrawn."""

    def __init__(self, console: Console) -> None:
        self.file = console.file

    def __enter__(self) -> LineOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, units: Sequence[Watched]) -> None:
        for unit in units:
            for update in unit.take_updates():
                stamp = _local_time(update.ts)
                self._write(f"{stamp} {reading_line(unit.monitor.name, update)}")
                if update.session_ended is not None:
                    self._write(f"{stamp} {session_line(unit.monitor.name, update.session_ended)}")
        self.file.flush()

    def _write(self, line: str) -> None:
        self.file.write(printable(line) + "\n")  # device strings: no control characters


class JsonLinesOutput(LineOutput):
    """`--json`: one JSON object per reading (a unit's vitals and power, or its error), one per line."""

    def update(self, units: Sequence[Watched]) -> None:
        for unit in units:
            for update in unit.take_updates():
                record = {
                    "unit": unit.monitor.name,
                    "ts": update.ts,
                    "vitals": update.vitals,
                    "power": update.power,
                    "error": update.error,
                    "session_ended": update.session_ended,
                }
                self._write(json_text(to_jsonable(record), indent=False))
        self.file.flush()


def reading_line(name: str, update: UnitReading) -> str:
    if update.vitals is None or update.power is None:
        return f"{name}: no reading ({update.error})"
    return unit_line(name, update.vitals, update.power)


def _local_time(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts).isoformat(timespec="seconds")


@contextlib.contextmanager
def quit_keys(on_quit: Callable[[], None]) -> Iterator[bool]:
    """While inside, `q` typed on the terminal calls `on_quit`. Yields whether keys are read at all.

    The terminal is in cbreak mode meanwhile (no echo, so keys never land in the output or a
    pipe) and is restored on the way out, errors included. Without a terminal on stdin: no keys.
    """
    if not sys.stdin.isatty():
        yield False
        return
    import termios  # noqa: PLC0415 - POSIX only, and only on a terminal
    import tty  # noqa: PLC0415

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def readable() -> None:
        data = os.read(fd, 64)
        if not data:  # the terminal went away
            loop.remove_reader(fd)
        elif b"q" in data.lower():
            on_quit()

    tty.setcbreak(fd)
    loop.add_reader(fd, readable)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


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
    as_json: bool = False,
) -> None:
    """Poll every unit each `interval_s` and show it, until `q`, Ctrl-C or `duration_s` has passed.

    On a terminal the table is redrawn in place; otherwise each reading is one plain line (or,
    with `as_json`, one JSON object). `clock` stamps readings (the world clock in the demo);
    `state_path` keeps one unit's energy bookkeeping across restarts. A poller that dies of an
    unexpected error ends the command with `PollingStopped` rather than leaving a frozen screen.
    """
    console = console or safe_console()
    units = [Watched(UnitMonitor(c, n, clock=clock)) for c, n in zip(clients, names, strict=True)]
    state = None
    if state_path is not None:
        if len(units) != 1:
            raise ConfigError("a state file keeps one unit's energy; watch one unit with it")
        state = units[0].monitor
        state.state_path = state_path
        state.open_state()
    deadline = None if duration_s is None else time.monotonic() + duration_s
    quit_asked = asyncio.Event()
    pollers = {asyncio.create_task(u.monitor.run(interval_s, u.add)): u for u in units}
    try:
        with quit_keys(quit_asked.set) as keys_read:
            output: LiveOutput | LineOutput
            if as_json:
                output = JsonLinesOutput(console)
            elif console.is_terminal:
                output = LiveOutput(console, title, "q or Ctrl-C quits" if keys_read else "Ctrl-C quits")
            else:
                output = LineOutput(console)
            with output:
                output.update(units)
                while not quit_asked.is_set() and (deadline is None or time.monotonic() < deadline):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(quit_asked.wait(), timeout=min(interval_s, 0.5))
                    _fail_if_a_poller_died(pollers)
                    output.update(units)
                    if state is not None:
                        state.save_if_due()
    except StateNotSaved:  # trying again at once would fail the same way
        await _stop(pollers)
        raise
    except BaseException:  # Ctrl-C, a dead poller: still the last save, then the error
        await _stop(pollers)
        if state is not None:
            _save_while_failing(state)
        raise
    await _stop(pollers)
    if state is not None:
        state.save()


async def _stop(pollers: Mapping[asyncio.Task[NoReturn], Watched]) -> None:
    for task in pollers:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)


def _fail_if_a_poller_died(pollers: Mapping[asyncio.Task[NoReturn], Watched]) -> None:
    """A poller only ends by dying: say which unit and why, in one line (the command exits 1)."""
    for task, unit in pollers.items():
        if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
            raise PollingStopped(
                f"{unit.monitor.name}: polling stopped on an unexpected error "
                f"({type(exc).__name__}: {exc}); the unit's answers could not be handled"
            )


def _save_while_failing(state: UnitMonitor) -> None:
    """The last save while another error ends the command: if it fails too, say so in one more line."""
    try:
        state.save()
    except StateNotSaved as exc:
        print(f"Error: {exc}", file=sys.stderr)
