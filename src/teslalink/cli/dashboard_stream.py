"""The dashboard's live drive panel: one streaming subscription, for the selected car while it drives.

Polling shows a moving car in jumps of `--interval` seconds; Tesla's streaming API sends the drive
figures about once a second. `LiveDrive` holds at most one `VehicleStream`, and only while the
selected car is known to be online and in gear (D, R or N), because:

* a stream is the one read that may keep a car awake (each update restarts its idle timer), so
  a parked car must not be streamed, and an asleep one never is (subscribing to it is refused,
  which is harmless, but polling already tells us it sleeps);
* one socket for the car the user looks at is enough: the other cars keep being polled.

It is ended when the car parks (an update or a poll says P or no gear), goes offline or asleep,
another car is selected, or the dashboard closes. A stream that fails (the server refuses, the
token is rejected twice, too many dropped connections) is shown in the status bar and the car
falls back to polling; it is not opened again for that car for `StreamPolicy.retry_after_s`, so
a broken streaming host costs one attempt a minute rather than one per poll.

The streamed values are kept on the `CarWatch` (`live`, `live_at`); the view draws whichever of
the polled and streamed figures is newer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..cloud.stream_models import StreamUpdate
    from ..cloud.streaming import Backoff, VehicleStream
    from .dashboard import CarWatch

DRIVING: Final = frozenset({"D", "R", "N"})
"""Shift states of a car on the move (or about to be): the only ones worth a stream."""


def in_gear(shift_state: str | None) -> bool:
    return shift_state in DRIVING


@dataclass(frozen=True)
class StreamPolicy:
    """How hard the dashboard tries before it falls back to polling.

    A few quick retries ride out a dropped connection; after `max_failures` failed connections in
    a row the stream gives up, and the same car is not streamed again for `retry_after_s`.
    """

    max_failures: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 4.0
    retry_after_s: float = 60.0
    error_shown_s: float = 30.0  # how long the failure stays in the car's drive panel

    def backoff(self) -> Backoff:
        from ..cloud.streaming import Backoff  # noqa: PLC0415 - aiohttp only when streaming

        return Backoff(initial_s=self.backoff_initial_s, max_s=self.backoff_max_s)


StreamOpener = Callable[["CarWatch", "StreamPolicy"], "VehicleStream | None"]
"""Makes the stream of a car (None: the car cannot be streamed, e.g. it has no vehicle_id)."""


def opener(api: Any) -> StreamOpener | None:
    """The stream opener of a `TeslaApi` (None when it knows no streaming URL).

    Each car's stream comes from `Vehicle.stream()`: the same URLs and token provider as the
    polls, so the stream subscribes with the same, refreshed, token.
    """
    if not getattr(getattr(api, "urls", None), "streaming", None):
        return None

    def open_stream(car: CarWatch, policy: StreamPolicy) -> VehicleStream | None:
        if getattr(car.vehicle, "vehicle_id", None) is None:
            return None
        stream: VehicleStream = car.vehicle.stream(backoff=policy.backoff(), max_failures=policy.max_failures)
        return stream

    return open_stream


@dataclass
class LiveDrive:
    """The one stream of the dashboard: which car it follows, and why it stopped if it failed."""

    open_stream: StreamOpener | None = None
    policy: StreamPolicy = field(default_factory=StreamPolicy)
    on_update: Callable[[], None] | None = None  # the view redraws at the stream's rate
    on_failure: Callable[[CarWatch, str], None] | None = None
    car: CarWatch | None = None  # the car streamed now
    stream: VehicleStream | None = None
    _task: asyncio.Task[None] | None = None
    _closing: set[asyncio.Task[None]] = field(default_factory=set)
    _failed_at: dict[str, float] = field(default_factory=dict)  # vehicle id_s -> monotonic

    @property
    def streaming(self) -> bool:
        """A stream is open and its last message was an update (not a wait or a retry)."""
        from ..cloud.streaming import StreamState  # noqa: PLC0415

        return self.stream is not None and self.stream.stats.state is StreamState.STREAMING

    def wants(self, car: CarWatch | None) -> bool:
        """Should `car` be streamed now? Online, in gear by the newest reading, not failed lately."""
        if car is None or self.open_stream is None or not car.online:
            return False
        if not in_gear(car.shift_state):
            return False
        failed = self._failed_at.get(car.vehicle.id_s)
        return failed is None or time.monotonic() - failed >= self.policy.retry_after_s

    def follow(self, car: CarWatch | None) -> None:
        """Stream `car` if it should be streamed, and nothing else. Needs a running loop only to act."""
        wanted = car if self.wants(car) else None
        if wanted is not None and wanted is self.car:
            return
        self._end()
        if wanted is None or self.open_stream is None:
            return
        stream = self.open_stream(wanted, self.policy)
        if stream is None:
            return
        self.car, self.stream = wanted, stream
        self._task = asyncio.get_running_loop().create_task(self._run(wanted, stream))

    async def aclose(self) -> None:
        """End the stream and wait until its socket and tasks are gone."""
        self._end()
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _end(self) -> None:
        stream, task = self.stream, self._task
        self.car = self.stream = self._task = None
        if stream is None or task is None:
            return
        closing = asyncio.get_running_loop().create_task(_stop(stream, task))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _run(self, car: CarWatch, stream: VehicleStream) -> None:
        """Copy each update to the car; end at a park; a failure goes to `on_failure`."""
        try:
            async with stream:
                async for update in stream:
                    car.apply(update)
                    if self.on_update is not None:
                        self.on_update()
                    if not in_gear(update.shift_state):
                        break  # parked: the car may sleep now; polling takes over
        except Exception as exc:  # whatever the stream does, the dashboard goes on
            self._failed_at[car.vehicle.id_s] = time.monotonic()
            message = " ".join(str(exc).split()) or type(exc).__name__
            car.stream_error, car.stream_error_at = message, time.monotonic()
            if self.on_failure is not None:
                self.on_failure(car, message)
        finally:
            if self.stream is stream:
                self.car = self.stream = self._task = None


async def _stop(stream: VehicleStream, task: asyncio.Task[None]) -> None:
    """Stop the stream (its socket closes, its iterator ends) and wait for its reader to finish."""
    await stream.stop()
    try:
        async with asyncio.timeout(5.0):
            await asyncio.shield(task)
    except TimeoutError:  # pragma: no cover - stop() ends the reader within one frame
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def newest(car: CarWatch) -> StreamUpdate | None:
    """The streamed update if it is newer than the last poll (else None: draw the polled data)."""
    if car.live is None or car.live_at is None:
        return None
    if car.updated is not None and car.updated > car.live_at:
        return None
    return car.live
