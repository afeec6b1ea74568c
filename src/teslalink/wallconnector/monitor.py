"""Watching one Wall Connector for months: vitals every few seconds, lifetime every minute, energy kept.

`UnitMonitor` joins the parts a long-running watcher needs: the client (one request at a time:
the unit stalls otherwise), its `PowerCalculator` (the client's: wiring remembered once seen),
a `SessionMonitor` (charging sessions from successive vitals) and a `LifetimeEnergy` (the
lifetime counter with impossible jumps rejected). The CLI's `wallconnector watch` and the home
service both run it:

    monitor = UnitMonitor(WallConnector("192.168.1.20"), "garage", state_path=Path("garage.json"))
    monitor.open_state()  # continue from the file; an unwritable path fails here, before polling
    reading = await monitor.poll()  # vitals (and the lifetime counter when a minute has passed)
    if reading.session_ended:
        print(reading.session_ended.energy_wh)
    monitor.save_if_due()  # at most once a minute; and monitor.save() at exit

A unit that fails keeps its last good reading (`vitals`, `power`) with the error beside it
(`error`), so a Wi-Fi drop-out is a word, not a crash. Errors the client translates
(`TeslalinkError`) are kept; anything else is a bug and propagates.

The state file is ONE JSON object, written atomically (owner-only):

    {"kind": "teslalink.wallconnector.monitor", "version": 1,
     "sessions": <SessionMonitor.to_state()>, "lifetime": <LifetimeEnergy.to_state()>}

i.e. the library's own two states (each with its kind and version) side by side, so the one file
a user names keeps both.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from .._files import atomic_write_bytes
from .._json import dumps, loads
from ..errors import ConfigError, DecodeError, TeslalinkError
from .client import WallConnector
from .energy import ChargingSession, LifetimeEnergy, SessionMonitor
from .models import Vitals
from .power import PowerReading

__all__ = [
    "LIFETIME_EVERY_S",
    "STATE_KIND",
    "STATE_SAVE_EVERY_S",
    "StateNotSaved",
    "UnitMonitor",
    "UnitReading",
]

LIFETIME_EVERY_S: Final = 60.0
"""How often the lifetime counter is read: it moves slowly and its jumps are judged per minute."""
STATE_SAVE_EVERY_S = 60.0
"""Our choice: a crash or kill -9 loses at most a minute of bookkeeping (read at each call)."""
STATE_KIND: Final = "teslalink.wallconnector.monitor"
_STATE_VERSION: Final = 1


class StateNotSaved(ConfigError):
    """The state file could not be written; the previous one, if any, is as it was."""


@dataclass(frozen=True, slots=True)
class UnitReading:
    """One poll of one unit: a reading, or why there is none; and the session it ended, if any."""

    ts: float  # the monitor's clock (epoch seconds by default)
    vitals: Vitals | None
    power: PowerReading | None
    error: str | None
    session_ended: ChargingSession | None = None


class UnitMonitor:
    """One Wall Connector: its client, its last reading and its energy bookkeeping.

    `clock` stamps readings and feeds the energy counters (the world clock of a twin in a demo or
    a test); the schedules (lifetime every minute, saves every minute) run on `time.monotonic`.
    """

    def __init__(
        self,
        client: WallConnector,
        name: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        state_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.client = client
        self.name = name or client.host
        self.clock = clock
        self.state_path = None if state_path is None else Path(state_path)
        self.sessions = SessionMonitor()
        self.lifetime = LifetimeEnergy()
        self.vitals: Vitals | None = None  # the last good reading, kept while the unit fails
        self.power: PowerReading | None = None
        self.error: str | None = None  # why the last read failed, None after a good one
        self._car_seen: bool | None = None  # since the last lifetime reading; None = unknown
        self._next_lifetime = 0.0  # monotonic
        self._next_save = 0.0  # monotonic

    def __repr__(self) -> str:
        return f"UnitMonitor({self.name!r}, sessions={self.sessions!r}, lifetime={self.lifetime!r})"

    # --- polling ------------------------------------------------------------------------------

    async def poll(self) -> UnitReading:
        """Read the vitals, and the lifetime counter when `LIFETIME_EVERY_S` has passed."""
        started = time.monotonic()
        reading = await self.read_vitals()
        if started >= self._next_lifetime:
            await self.read_lifetime()
            self._next_lifetime = started + LIFETIME_EVERY_S
        return reading

    async def run(self, interval_s: float, on_reading: Callable[[UnitReading], None]) -> NoReturn:
        """Poll every `interval_s` on this unit's own schedule (a slow unit holds up no other)."""
        while True:
            started = time.monotonic()
            on_reading(await self.poll())
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))

    async def read_vitals(self) -> UnitReading:
        """One vitals read, fed to the session monitor; a failure is kept in `error`."""
        try:
            vitals = await self.client.vitals()
        except TeslalinkError as exc:
            self.error = str(exc)
            self._car_seen = None
            return UnitReading(self.clock(), None, None, self.error)
        power = self.client.power(vitals)
        self.vitals, self.power, self.error = vitals, power, None
        if vitals.vehicle_connected is not False and self._car_seen is not None:
            self._car_seen = True
        now = self.clock()
        ended = self.sessions.feed(now, vitals, power)
        return UnitReading(now, vitals, power, None, ended)

    async def read_lifetime(self) -> None:
        """One lifetime read, fed to the counter (told whether a car was seen since the last one)."""
        try:
            lifetime = await self.client.lifetime()
        except TeslalinkError as exc:
            self.error = str(exc)
            return
        self.lifetime.feed(self.clock(), lifetime.energy_wh, car_connected=self._car_seen)
        self._car_seen = None if self.vitals is None else self.vitals.vehicle_connected

    # --- state --------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": STATE_KIND,
            "version": _STATE_VERSION,
            "sessions": self.sessions.to_state(),
            "lifetime": self.lifetime.to_state(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `to_state()`'s output. ConfigError (nothing changed) if it is not one.

        Migration: a file without a kind, holding only "sessions" and "lifetime", is what
        `teslalink wallconnector watch --state` wrote before this module existed (the same two
        states side by side); it is read as version 1.
        """
        if not isinstance(state, Mapping):
            raise ConfigError(f"state must be a JSON object, got {type(state).__name__}")
        legacy = "kind" not in state and {"sessions", "lifetime"} <= state.keys()
        if not legacy:
            if state.get("kind") != STATE_KIND:
                raise ConfigError(f"state is of kind {state.get('kind')!r}, expected {STATE_KIND!r}")
            if state.get("version") != _STATE_VERSION:
                raise ConfigError(
                    f"state version {state.get('version')!r} is not supported "
                    f"(this teslalink reads {_STATE_VERSION})"
                )
        sessions, lifetime = SessionMonitor(), LifetimeEnergy()
        try:
            sessions.restore(state["sessions"])
            lifetime.restore(state["lifetime"])
        except KeyError as exc:
            raise ConfigError(f"state has no {exc.args[0]!r}") from None
        except TypeError as exc:
            raise ConfigError(f"state is malformed ({exc})") from None
        self.sessions, self.lifetime = sessions, lifetime

    def load(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Continue from the file (default `state_path`). False if there is none yet (a first run).

        A file that cannot be used is a ConfigError in one line and is left alone.
        """
        target = self._path(path)
        try:
            self.restore(loads(target.read_bytes()))
        except (FileNotFoundError, NotADirectoryError):
            return False  # nothing to continue from; the first save says why the path cannot be used
        except (OSError, DecodeError, ConfigError) as exc:
            raise ConfigError(
                f"state file {os.fspath(target)!r} cannot be used ({_reason(exc)}); move it away"
            ) from None
        return True

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the state atomically (default `state_path`); StateNotSaved keeps the previous file."""
        target = self._path(path)
        try:
            atomic_write_bytes(target, dumps(self.to_state()))
        except (OSError, TypeError, ValueError) as exc:
            # TypeError: orjson refuses an absurd number (an int over 64 bits) that a device sent.
            raise StateNotSaved(
                f"state file {os.fspath(target)!r} cannot be written in "
                f"{os.fspath(target.parent)!r} ({_reason(exc)}); the previous file, if any, is kept"
            ) from None
        self._next_save = time.monotonic() + STATE_SAVE_EVERY_S

    def open_state(self) -> bool:
        """`load()` then `save()` at once, so an unwritable path fails before any polling."""
        continued = self.load()
        self.save()
        return continued

    def save_if_due(self) -> None:
        """`save()` when `STATE_SAVE_EVERY_S` has passed since the last one (and a path is set)."""
        if self.state_path is not None and time.monotonic() >= self._next_save:
            self.save()

    def _path(self, path: str | os.PathLike[str] | None) -> Path:
        if path is not None:
            return Path(path)
        if self.state_path is None:
            raise ConfigError(f"{self.name}: no state file to use (pass a path or set state_path)")
        return self.state_path


def _reason(exc: BaseException) -> str:
    """An OSError's words without its errno and file name (the message names the file); others as they are."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
