"""The notifier: which events go where, a queue per target, and delivery that never holds the service.

`publish(event)` is called by the engine for every event, on the loop's thread; it only decides
and enqueues, so it never blocks and never raises:

1. the kind must be on (`NotifySettings.events`; a kind the mapping does not name falls back to
   `DEFAULT_EVENTS`);
2. the targets are those whose `events` subset holds the kind (None: every kind that is on);
3. a repeat of the same kind for the same device within `cooldown_s` of the last one sent is
   suppressed (counted `suppressed` on each target it would have gone to). The cooldown runs
   from the last event let through, so a condition that keeps coming back is told once per
   cooldown (our choice, research/control.md 9.15: "de-duplicate with a per-event cooldown");
4. each target's queue takes the event; a full queue drops its oldest (counted `dropped`): when a
   target is down for long, the newest news is kept.

One delivery task per target sends its queue in order, one event at a time. A failure that may
pass (connection, timeout, 408, 429, 5xx) is tried again after `RetryPlan`'s capped, doubling
wait (Retry-After honoured), counted `retried`; an event that cannot be delivered (another 4xx,
or after the plan's hour or tries) is counted `failed`. A target's `last_error` is its latest
failure in one line, cleared by its next delivery; the log says when a target starts failing,
gives an event up and recovers, never once per retry. Nothing a target does reaches another
target or the service.

`close(timeout_s)` lets each task deliver what it can within the timeout, then stops them;
events still queued then are counted `dropped`.

Times: `clock` (epoch seconds: the world's against the twin) measures the cooldown; the waits
between tries are real time, since they wait for real servers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from ... import errors
from ..events import Event
from ..settings import DEFAULT_EVENTS, NotifySettings
from ..state import TargetStatus
from .build import build_target
from .retry import DEFAULT_RETRY, RetryPlan
from .target import Target, new_transport

if TYPE_CHECKING:
    import aiohttp

__all__ = ["QUEUE_SIZE", "Notifier"]

_LOG = logging.getLogger(__name__)

QUEUE_SIZE: Final = 100
"""Our choice: events waiting per target. A home sees a few dozen events a day; a hundred spans
a day or more of a target that is down, and costs a few tens of KB."""

_COOLDOWN_PRUNE_AT: Final = 4096
"""The cooldown table is pruned of lapsed entries when it grows past this (kinds x devices)."""

Sleep = Callable[[float], Awaitable[object]]


class _Lane:
    """One target: its queue, its delivery task, its counters."""

    __slots__ = (
        "busy",
        "events",
        "failing",
        "queue",
        "resting_until",
        "size",
        "status",
        "target",
        "task",
        "wake",
    )

    def __init__(self, target: Target, events: frozenset[str] | None, size: int, name: str) -> None:
        self.target = target
        self.events = events
        self.size = size
        self.status = TargetStatus(name=name)
        self.queue: collections.deque[Event] = collections.deque()
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.busy: Event | None = None  # the event being delivered (tried or waiting to be tried again)
        self.failing = False
        self.resting_until = 0.0  # monotonic: when the wait before the next try ends (0: not waiting)

    def wants(self, kind: str) -> bool:
        return self.events is None or kind in self.events

    def put(self, event: Event) -> None:
        if len(self.queue) >= self.size:
            self.queue.popleft()
            self.status.dropped += 1
        self.queue.append(event)
        self.wake.set()


class Notifier:
    """Delivers the service's events to the owner's notification targets.

    `settings`: the config's `[notify]` part. Every target is built (and its URL checked) here:
    a bad URL, an unknown kind or an apprise target without the extra is a `ConfigError` in one
    line, before anything runs. `clock`: epoch seconds for the cooldown. `session`: an aiohttp
    session to post through (kept open); without one the notifier opens its own and closes it.
    `retry`, `queue_size`, `sleep`: the retry plan, the queue bound and the wait between tries
    (tests shorten them).
    """

    def __init__(
        self,
        settings: NotifySettings,
        *,
        clock: Callable[[], float] = time.time,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPlan = DEFAULT_RETRY,
        queue_size: int = QUEUE_SIZE,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if queue_size < 1:
            raise errors.ConfigError("a notify queue holds at least one event")
        self._settings = settings
        self._clock = clock
        self._retry = retry
        self._sleep = sleep
        self._transport = new_transport(session)
        self._lanes: list[_Lane] = []
        names: collections.Counter[str] = collections.Counter()
        for config in settings.targets:
            target = build_target(config, self._transport)
            names[target.name] += 1
            shown = target.name if names[target.name] == 1 else f"{target.name} #{names[target.name]}"
            self._lanes.append(_Lane(target, config.events, queue_size, shown))
        self.targets: list[TargetStatus] = [lane.status for lane in self._lanes]
        """Each target's counters (live: the runner hands these same objects to `ServiceState`)."""
        self._last_sent: dict[tuple[str, str, str], float] = {}
        self._started = False
        self._closing = False
        self._closed = False
        self._close_by = 0.0

    # --- deciding (never blocks, never raises) -------------------------------------------------

    def publish(self, event: Event) -> None:
        """Queue `event` for the targets that want it (see the module's doc); on the loop's thread."""
        try:
            self._publish(event)
        except Exception:  # a bug here must not reach the engine: said once per event, no secret in it
            _LOG.exception("notify: could not queue a %s event", getattr(event, "kind", "?"))

    def _publish(self, event: Event) -> None:
        kind = event.kind.value
        if not self._settings.events.get(kind, DEFAULT_EVENTS.get(kind, True)):
            return
        lanes = [lane for lane in self._lanes if lane.wants(kind)]
        if not lanes:
            return
        if self._closed or self._closing:
            for lane in lanes:
                lane.status.dropped += 1
            return
        now = self._clock()
        key = (kind, event.device.kind.value, event.device.id)
        last = self._last_sent.get(key)
        cooldown = self._settings.cooldown_s
        if last is not None and cooldown > 0 and 0 <= now - last < cooldown:
            for lane in lanes:
                lane.status.suppressed += 1
            return
        self._last_sent[key] = now
        if len(self._last_sent) > _COOLDOWN_PRUNE_AT:
            self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < cooldown}
        for lane in lanes:
            lane.put(event)

    # --- delivering ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start one delivery task per target (events published before are sent first)."""
        if self._started or self._closed:
            return
        self._started = True
        for lane in self._lanes:
            lane.task = asyncio.create_task(self._work(lane), name=f"notify {lane.status.name}")

    async def _work(self, lane: _Lane) -> None:
        while True:
            if not lane.queue:
                if self._closing:
                    return
                lane.wake.clear()
                await lane.wake.wait()
                continue
            event = lane.busy = lane.queue.popleft()
            try:
                delivered = await self._deliver(lane, event)
            except Exception as exc:  # a bug: that event is lost, the lane goes on
                lane.status.failed += 1
                lane.status.last_error = f"internal error: {type(exc).__name__}"
                _LOG.exception("notify %s: internal error", lane.status.name)
                delivered = True
            if delivered:
                lane.busy = None
            else:  # stopping: left for close() to count
                lane.queue.appendleft(event)
                lane.busy = None
                return

    async def _deliver(self, lane: _Lane, event: Event) -> bool:
        """Send `event` until it is delivered or given up (True), or stopping cuts it short (False)."""
        status = lane.status
        began = time.monotonic()
        tries = 0
        while True:
            tries += 1
            try:
                await lane.target.send(event)
            except errors.DeliveryFailed as exc:
                failure = exc
            else:
                status.delivered += 1
                if lane.failing:
                    lane.failing = False
                    _LOG.info("notify %s: delivering again", status.name)
                status.last_error = None
                return True
            reason = lane.target.secrets.line(str(failure))
            status.last_error = reason
            kind = event.kind.value
            if not failure.retry:
                status.failed += 1
                _LOG.warning("notify %s: %s event not delivered: %s", status.name, kind, reason)
                return True
            wait = self._retry.delay(tries, failure.retry_after)
            if tries >= self._retry.max_attempts or time.monotonic() + wait - began > self._retry.give_up_s:
                status.failed += 1
                _LOG.warning(
                    "notify %s: %s event given up after %d tries: %s", status.name, kind, tries, reason
                )
                return True
            if self._closing and time.monotonic() + wait > self._close_by:
                return False
            if not lane.failing:
                lane.failing = True
                _LOG.warning("notify %s: %s (trying again in %.0f s)", status.name, reason, wait)
            else:
                _LOG.debug("notify %s: %s (trying again in %.0f s)", status.name, reason, wait)
            lane.resting_until = time.monotonic() + wait
            try:
                await self._sleep(wait)
            finally:
                lane.resting_until = 0.0
            status.retried += 1

    async def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what can be delivered within `timeout_s`, then stop; the rest is counted dropped."""
        if self._closed:
            return
        self._closing = True
        self._close_by = time.monotonic() + max(0.0, timeout_s)
        for lane in self._lanes:
            lane.wake.set()
            if lane.task is not None and lane.resting_until > self._close_by:
                lane.task.cancel()  # waiting to try again past the stop: nothing more will be sent
        tasks = [lane.task for lane in self._lanes if lane.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, timeout_s))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for lane in self._lanes:
            left = len(lane.queue) + (lane.busy is not None)
            if left:
                lane.status.dropped += left
                _LOG.warning("notify %s: %d event(s) not delivered at stop", lane.status.name, left)
            lane.queue.clear()
            lane.busy = None
        self._closed = True
        await self._transport.close()
