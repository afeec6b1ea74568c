"""A 429's cooldown that outlives the process, kept in a small file beside the token file.

`TeslaApi` and `Auth` already send nothing to a host that answered 429 until its Retry-After has
passed, but only for as long as they live. A shell loop of one-shot commands, or a service that
restarts, would knock again at once and earn a longer block. `Cooldowns` carries the deadlines
from one process to the next: `apply()` them to a new client before it sends anything, `keep()`
the client's cooldowns when it is done (or use `kept()` around the work, errors included).

    async with TeslaApi(auth.urls, auth) as api, Cooldowns.beside(store.target).kept(api):
        ...

The file is a cache: unreadable or malformed means no cooldowns (never an error), a write that
fails is skipped (never fails the caller), and every write is atomic. It maps host (host:port) to
the wall-clock time (epoch seconds) until which that host must not be asked.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .._files import atomic_write_bytes
from .._json import dumps, loads
from ..errors import ConfigError, DecodeError
from .tokens import read_regular_file

__all__ = ["COOLDOWN_FILE_NAME", "CooldownKeeper", "Cooldowns"]

COOLDOWN_FILE_NAME = "cooldowns.json"


class CooldownKeeper(Protocol):
    """What keeps cooldowns in memory: `TeslaApi` (API and streaming hosts), `Auth` (SSO hosts)."""

    def cooldowns(self) -> dict[str, float]:
        """Seconds left per host still cooling down."""
        ...

    def cool_down(self, seconds: float, host: str | None = None) -> None:
        """Send nothing to `host` for `seconds`."""
        ...


@dataclass(frozen=True)
class Cooldowns:
    """The cooldowns file at `path` (None: nowhere to keep them, every call does nothing)."""

    path: Path | None
    clock: Callable[[], float] = field(default=time.time, compare=False)  # wall clock: the file outlives us

    @classmethod
    def beside(cls, token_path: Path | None) -> Cooldowns:
        """The cooldowns file in the token file's directory (None for a store without a file)."""
        return cls(None if token_path is None else token_path.with_name(COOLDOWN_FILE_NAME))

    def read(self) -> dict[str, float]:
        """Host -> epoch seconds until which it must not be asked (finished ones included)."""
        if self.path is None:
            return {}
        try:
            found = loads(read_regular_file(self.path, "the cooldown file"))
        except (OSError, ConfigError, DecodeError):
            return {}
        if not isinstance(found, dict):
            return {}
        return {
            str(k): float(v)
            for k, v in found.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }

    @contextlib.asynccontextmanager
    async def kept(self, keeper: CooldownKeeper) -> AsyncIterator[None]:
        """`apply` before the block, `keep` after it (errors included: a 429 is one)."""
        self.apply(keeper)
        try:
            yield
        finally:
            self.keep(keeper)

    def apply(self, keeper: CooldownKeeper) -> None:
        """Start the cooldowns earlier processes left (every host: a keeper asks only its own)."""
        now = self.clock()
        for host, until in self.read().items():
            if until > now:
                keeper.cool_down(until - now, host)

    def keep(self, keeper: CooldownKeeper) -> None:
        """Remember the keeper's cooldowns (and forget finished ones) for the next process."""
        if self.path is None:
            return
        now = self.clock()
        stored = self.read()
        known = {host: until for host, until in stored.items() if until > now}
        for host, left in keeper.cooldowns().items():
            if now + left > known.get(host, 0.0) + 1.0:  # new or longer (not the one applied)
                known[host] = now + left
        if known == stored:
            return  # nothing to remember or forget: no write
        with contextlib.suppress(OSError):  # a cache: failing to write it must not fail the caller
            atomic_write_bytes(self.path, dumps(known))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
