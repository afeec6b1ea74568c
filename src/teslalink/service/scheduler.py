"""When each part of the service runs: jobs keyed by the time they are next due.

Every watcher of the service is a *job*: a step (one poll of a car, a Wall Connector or a site;
one timer tick) that returns when it wants to run again. The scheduler runs each job's step when
it is due, never two steps of one job at once, and steps of different jobs side by side, so a
slow car read never delays a Wall Connector's 5 s poll.

One scheduler serves two clocks:

* `run(stop)`: real time. It sleeps until the earliest due time (or until `wake(name)` makes a
  job due now: a Wall Connector's plug-in edge asks for its car to be read), starts what is due
  and goes on; steps run as tasks.
* `run_until(ts)`: virtual time, for the twin. The clock is a frozen world's (`World(speed=0)`):
  the scheduler moves it to the next due time, runs every step due then and waits for all of
  them before moving it again. Days of world time run in seconds, and a run is the same every
  time for a seed (the world does not move while a step reads it).

A step that raises is supervised: logged in one line, counted in `failures`, and tried again
after a capped, doubling backoff (`RETRY_MIN_S` to `RETRY_MAX_S`), so nothing a device or the
network does stops the service. Expected trouble (a unit that does not answer, a car asleep) is
the step's own business: it returns its next due time as usual.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from ._lines import exc_line

__all__ = ["RETRY_MAX_S", "RETRY_MIN_S", "Clock", "Job", "RealClock", "Scheduler", "Step", "WorldClock"]

_LOG = logging.getLogger(__name__)

RETRY_MIN_S: Final = 5.0
RETRY_MAX_S: Final = 300.0

Step = Callable[[], Awaitable[float | None]]
"""One run of a job; returns the (clock) time it is next due, or None when it is done for good."""


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...


class RealClock:
    """Wall-clock time (`time.time`)."""

    def now(self) -> float:
        return time.time()


class _Advanceable(Protocol):
    def now(self) -> float: ...
    def advance(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class WorldClock:
    """A frozen twin world's clock, moved forward only by `Scheduler.run_until`."""

    world: _Advanceable

    def now(self) -> float:
        return self.world.now()

    def advance_to(self, ts: float) -> None:
        gap = ts - self.world.now()
        if gap > 0:
            self.world.advance(gap)


@dataclass(eq=False)
class Job:
    name: str
    step: Step
    due: float
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    running: bool = False
    done: bool = False
    _order: int = field(default=0, repr=False)


class Scheduler:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or RealClock()
        self._jobs: dict[str, Job] = {}
        self._heap: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed: asyncio.Event | None = None

    # --- jobs ------------------------------------------------------------------------------------

    def add(self, name: str, step: Step, due: float | None = None) -> Job:
        """Run `step` first at `due` (default now), then whenever it asks."""
        if name in self._jobs:
            raise ValueError(f"a job named {name!r} exists already")
        job = Job(name, step, self.clock.now() if due is None else due)
        self._jobs[name] = job
        self._push(job)
        return job

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def job(self, name: str) -> Job:
        return self._jobs[name]

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def wake(self, name: str, at: float | None = None) -> None:
        """Make job `name` due at `at` (default now) if that is sooner than it was due.

        A running job is not run twice: it is due again at once when its step returns earlier
        than what it asked for (the step's own answer is moved forward to `at`)."""
        job = self._jobs.get(name)
        if job is None or job.done:
            return
        at = self.clock.now() if at is None else at
        if at < job.due:
            job.due = at
            if not job.running:
                self._push(job)
            if self._changed is not None:
                self._changed.set()

    def next_due(self) -> float | None:
        """The earliest due time of a job not running, None if there is none."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    # --- real time -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run the jobs in real time until `stop` is set; then wait for the steps in flight."""
        self._changed = asyncio.Event()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self._start_due()
                due = self.next_due()
                timeout = None if due is None else max(0.0, due - self.clock.now())
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait({stopping, changed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                self._changed.clear()
        finally:
            stopping.cancel()
            await self.drain()
            self._changed = None

    async def drain(self) -> None:
        """Wait for every step in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- virtual time ----------------------------------------------------------------------------

    async def run_until(self, ts: float) -> None:
        """Move a `WorldClock` forward to `ts`, running each job when it is due, in time order."""
        clock = self.clock
        if not isinstance(clock, WorldClock):
            raise TypeError("run_until needs a WorldClock (a frozen twin world)")
        while True:
            due = self.next_due()
            if due is None or due > ts:
                break
            clock.advance_to(due)
            self._start_due()
            await self.drain()
        clock.advance_to(ts)

    # --- inside ------------------------------------------------------------------------------------

    def _push(self, job: Job) -> None:
        job._order = next(self._order)
        heapq.heappush(self._heap, (job.due, job._order, job))

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and (heap[0][2].running or heap[0][2].done or heap[0][1] != heap[0][2]._order):
            heapq.heappop(heap)

    def _start_due(self) -> None:
        now = self.clock.now()
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return
            _, _, job = heapq.heappop(self._heap)
            job.running = True
            task = asyncio.ensure_future(self._run_step(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_step(self, job: Job) -> None:
        started = self.clock.now()
        job.due = math.inf  # a wake() while the step runs lowers it: run again at once after
        try:
            following = await job.step()
        except asyncio.CancelledError:
            job.running = False
            job.done = True
            raise
        except Exception as exc:  # supervision: a step's bug or surprise never stops the service
            job.failures += 1
            job.consecutive_failures += 1
            job.last_error = exc_line(exc)
            wait = min(RETRY_MAX_S, RETRY_MIN_S * 2 ** (job.consecutive_failures - 1))
            _LOG.warning("%s failed (%s); trying again in %.0f s", job.name, job.last_error, wait)
            following = started + wait
        else:
            job.consecutive_failures = 0
            job.last_error = None
        job.runs += 1
        job.running = False
        if following is None:
            job.done = True
            return
        job.due = min(following, job.due)
        self._push(job)
        if self._changed is not None:
            self._changed.set()
