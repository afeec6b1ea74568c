"""`teslalink notify test`: one made-up, clearly labelled test event sent once to each target.

`send_test` is the library's call (it raises); `try_targets` runs it for many targets at once and
says, per target, "ok" or why not: what the CLI prints, for `--target` now and for the targets
of a config file later (it takes `TargetSettings`, whichever way they were given).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ... import errors
from ..events import Event, EventKind
from ..settings import TargetSettings
from .build import build_target
from .message import make_test_event
from .redact import one_line, target_name
from .target import new_transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["TrialResult", "send_test", "try_targets"]


@dataclass(frozen=True, slots=True)
class TrialResult:
    name: str  # the target as shown: kind, scheme and host
    error: str | None  # None: delivered; else the one-line reason (no secret in it)

    @property
    def ok(self) -> bool:
        return self.error is None


async def send_test(
    target: TargetSettings, event: Event | None = None, *, session: aiohttp.ClientSession | None = None
) -> None:
    """Send `event` (default: a test "plugged in") to `target` once, marked as a test.

    Raises `errors.ConfigError` for a target that cannot be built (its URL, its kind, apprise
    without the extra) and `errors.DeliveryFailed` when it did not take the event; no retries.
    """
    event = event or make_test_event(EventKind.PLUGGED_IN, int(time.time() * 1000))
    transport = new_transport(session)
    try:
        built = build_target(target, transport)
        await built.send(event, test=True)
    finally:
        await transport.close()


async def try_targets(
    targets: Sequence[TargetSettings],
    kind: EventKind = EventKind.PLUGGED_IN,
    *,
    clock: Callable[[], float] = time.time,
    session: aiohttp.ClientSession | None = None,
) -> list[TrialResult]:
    """A test event of `kind` to every target at once; one result per target, in order."""
    event = make_test_event(kind, int(clock() * 1000))

    async def one(target: TargetSettings) -> TrialResult:
        name = target_name(str(target.kind), target.url)
        try:
            await send_test(target, event, session=session)
        except errors.TeslalinkError as exc:
            said = one_line(str(exc))
            return TrialResult(name, said.removeprefix(f"{name}: "))  # the line names the target already
        return TrialResult(name, None)

    return list(await asyncio.gather(*(one(target) for target in targets)))
