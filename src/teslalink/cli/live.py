"""The live view of several Wall Connectors, shared by `watch` and `demo`.

Each unit is polled on its own schedule, one request at a time (the unit stalls otherwise). A
unit that fails keeps its last good reading on screen with the error beside it, so a Wi-Fi
drop-out shows as a word, not as a crash or a flood of log lines.

Every reading also feeds the unit's `SessionMonitor` and, once a minute, its `LifetimeEnergy`
counter: a finished session is printed above the table, and the caption shows the lifetime energy
with whatever impossible jumps were rejected. With a state file both continue after a restart;
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
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.console import Console
from rich.live import Live

from .._files import atomic_write_bytes
from ..errors import ConfigError, TeslalinkError
from ..wallconnector.client import WallConnector
from ..wallconnector.energy import ChargingSession, LifetimeEnergy, SessionMonitor
from ..wallconnector.models import Vitals
from ..wallconnector.power import PowerReading
from ._common import json_text, safe_console, to_jsonable
from ._text import printable
from .wallconnector_view import UnitRow, live_table, unit_line

LIFETIME_EVERY_S = 60.0
STATE_SAVE_EVERY_S = 60.0  # our choice: a crash or kill -9 loses at most a minute of bookkeeping


@dataclass(frozen=True, slots=True)
class Update:
    """One poll of one unit, as the line and JSON outputs print it: a reading or why there is none."""

    ts: float
    vitals: Vitals | None
    power: PowerReading | None
    error: str | None
    session_ended: ChargingSession | None = None


class StateNotSaved(ConfigError):
    """The state file could not be written; the previous one, if any, is as it was."""


class PollingStopped(TeslalinkError):
    """A unit's poller died of an error nobody expected: the view would freeze, so the command ends."""


class UnitWatch:
    """One unit on screen: its client, its last reading and its energy bookkeeping."""

    def __init__(self, client: WallConnector, name: str, clock: Callable[[], float]) -> None:
        self.client = client
        self.row = UnitRow(name)
        self.clock = clock
        self.sessions = SessionMonitor()
        self.lifetime = LifetimeEnergy()
        self.updates: list[Update] = []  # every poll since the view last drew; the view empties it
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
            self.updates.append(Update(self.clock(), None, None, self.row.error))
            return
        power = self.client.power(vitals)
        self.row.vitals, self.row.power, self.row.error = vitals, power, None
        if vitals.vehicle_connected is not False and self._car_seen is not None:
            self._car_seen = True
        now = self.clock()
        ended = self.sessions.feed(now, vitals, power)
        self.updates.append(Update(now, vitals, power, None, ended))

    async def _read_lifetime(self) -> None:
        try:
            lifetime = await self.client.lifetime()
        except TeslalinkError as exc:
            self.row.error = str(exc)
            return
        self.lifetime.feed(self.clock(), lifetime.energy_wh, car_connected=self._car_seen)
        vitals = self.row.vitals
        self._car_seen = None if vitals is None else vitals.vehicle_connected

    def take_updates(self) -> list[Update]:
        updates, self.updates = self.updates, []
        return updates


class StateFile:
    """One unit's energy bookkeeping in a file: loaded at start, saved at start, every minute and at exit.

    The file holds the library's own `SessionMonitor` and `LifetimeEnergy` states (each with its
    kind and version) side by side, so the one FILE a user names keeps both. Every save is atomic:
    a save that fails leaves the previous file as it was, and says so in one line.
    """

    def __init__(self, path: Path, unit: UnitWatch) -> None:
        self.path = path
        self.unit = unit
        self._next_save = 0.0

    def open(self) -> None:
        """Continue from the file, then save at once: an unwritable path fails before any polling."""
        self.load()
        self.save()

    def load(self) -> None:
        """A missing file is a first run; a bad one a clear error (and is left alone)."""
        try:
            state = orjson.loads(self.path.read_bytes())
            self.unit.sessions.restore(state["sessions"])
            self.unit.lifetime.restore(state["lifetime"])
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing to continue from; the first save says why the path cannot be used
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ConfigError) as exc:
            raise ConfigError(
                f"state file {os.fspath(self.path)!r} cannot be used ({_reason(exc)}); move it away"
            ) from None

    def save(self) -> None:
        state = {"sessions": self.unit.sessions.to_state(), "lifetime": self.unit.lifetime.to_state()}
        try:
            atomic_write_bytes(self.path, orjson.dumps(state))
        except (OSError, TypeError, ValueError) as exc:
            # TypeError: orjson refuses an absurd number (an int over 64 bits) that a device sent.
            raise StateNotSaved(
                f"state file {os.fspath(self.path)!r} cannot be written in "
                f"{os.fspath(self.path.parent)!r} ({_reason(exc)}); the previous file, if any, is kept"
            ) from None
        self._next_save = time.monotonic() + STATE_SAVE_EVERY_S

    def save_if_due(self) -> None:
        if time.monotonic() >= self._next_save:
            self.save()


def _reason(exc: BaseException) -> str:
    """An OSError's words without its errno and file name (the message names the file); others as they are."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


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

    def update(self, units: Sequence[UnitWatch]) -> None:
        assert self._live is not None
        for unit in units:
            for update in unit.take_updates():
                if update.session_ended is not None:
                    self._live.console.print(session_line(unit.row.name, update.session_ended))
        table = live_table([u.row for u in units], self.title)
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

    def update(self, units: Sequence[UnitWatch]) -> None:
        for unit in units:
            for update in unit.take_updates():
                stamp = _local_time(update.ts)
                self._write(f"{stamp} {reading_line(unit.row.name, update)}")
                if update.session_ended is not None:
                    self._write(f"{stamp} {session_line(unit.row.name, update.session_ended)}")
        self.file.flush()

    def _write(self, line: str) -> None:
        self.file.write(printable(line) + "\n")  # device strings: no control characters


class JsonLinesOutput(LineOutput):
    """`--json`: one JSON object per reading (a unit's vitals and power, or its error), one per line."""

    def update(self, units: Sequence[UnitWatch]) -> None:
        for unit in units:
            for update in unit.take_updates():
                record = {
                    "unit": unit.row.name,
                    "ts": update.ts,
                    "vitals": update.vitals,
                    "power": update.power,
                    "error": update.error,
                    "session_ended": update.session_ended,
                }
                self._write(json_text(to_jsonable(record), indent=False))
        self.file.flush()


def reading_line(name: str, update: Update) -> str:
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
    units = [UnitWatch(c, n, clock) for c, n in zip(clients, names, strict=True)]
    state = None
    if state_path is not None:
        if len(units) != 1:
            raise ConfigError("a state file keeps one unit's energy; watch one unit with it")
        state = StateFile(state_path, units[0])
        state.open()
    deadline = None if duration_s is None else time.monotonic() + duration_s
    quit_asked = asyncio.Event()
    pollers = {asyncio.create_task(u.poll_forever(interval_s)): u for u in units}
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


async def _stop(pollers: Mapping[asyncio.Task[None], UnitWatch]) -> None:
    for task in pollers:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)


def _fail_if_a_poller_died(pollers: Mapping[asyncio.Task[None], UnitWatch]) -> None:
    """A poller only ends by dying: say which unit and why, in one line (the command exits 1)."""
    for task, unit in pollers.items():
        if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
            raise PollingStopped(
                f"{unit.row.name}: polling stopped on an unexpected error "
                f"({type(exc).__name__}: {exc}); the unit's answers could not be handled"
            )


def _save_while_failing(state: StateFile) -> None:
    """The last save while another error ends the command: if it fails too, say so in one more line."""
    try:
        state.save()
    except StateNotSaved as exc:
        print(f"Error: {exc}", file=sys.stderr)
