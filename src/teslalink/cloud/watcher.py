"""Watching cars without waking them: what to read, when to stop reading, when to stream.

A car's battery pays for every minute it is kept awake, and Tesla bills every data read. So the
watcher follows the rules owners' loggers settled on (TeslaMate, Home Assistant's `tesla_fleet`):

* every `poll()` reads the car's summary first: it says online, asleep or offline and never wakes
  a car or keeps it awake. `vehicle_data` is read only when the summary says online (it never
  wakes a car, but it restarts an awake car's idle timer). Nothing here sends `wake_up`;
* a car found idle (parked, not charging, climate off, nobody in it) on every read for
  `let_sleep_after_s` *rests*: its data is no longer read, only its summary, so that it falls
  asleep as it would untouched (Tesla's cars sleep after some 15 idle minutes unread);
* a resting car is read again on `touch()` (someone acts on it) or when its summary shows it
  woke by other means (asleep or offline, then online again: the owner's phone, a charge start);
* two guards a long-running service turns on (off by default, for a screen that wants the car
  now): `confirm_online_s`, a car found online after asleep or offline is read only once it has
  stayed online that long, because newer cars wake by themselves for 2-3 minutes every hour and
  a read then keeps them awake their whole idle time (TeslaMate's "fake online" guard,
  research/loggers.md 1.2); and `recheck_resting_s`, a resting car still online after that long
  is read once more (something keeps it awake: a charge, climate, a person; TeslaMate re-checks
  a suspended car after its 21 minutes), so a plug-in without a Wall Connector is not missed;
* while it is online and in gear (D, R or N) it is *streamed*: one websocket
  (`Vehicle.stream()`) sends the drive figures about once a second. A stream is the one read that
  may keep a car awake, so it is ended when the car parks (a streamed P, or a poll), sleeps or
  goes offline. A stream that fails falls back to polling and is not opened again for that car
  for `StreamPolicy.retry_after_s`, so a broken streaming host costs one attempt a minute.

    fleet = await FleetWatcher.of(api)
    while True:
        await fleet.poll()
        for car in fleet.cars:
            print(car.name, car.activity, car.drive())
        await asyncio.sleep(60)

Times: `clock` (default `time.monotonic`; a test may pass a world clock) times the policy: the
idle period and the stream retry wait. `updated` and `live_at`, the freshness of what is shown,
are always `time.monotonic()` (our choice: ages shown to a person are real seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ..errors import TeslalinkError, VehicleUnavailable

if TYPE_CHECKING:
    from .api import TeslaApi
    from .stream_models import StreamUpdate
    from .streaming import Backoff, VehicleStream
    from .vehicle import Vehicle, VehicleData

__all__ = [
    "DRIVING_SHIFT_STATES",
    "LET_SLEEP_AFTER_S",
    "CarActivity",
    "CarWatcher",
    "DriveFigures",
    "FleetWatcher",
    "PollResult",
    "StreamPolicy",
    "in_gear",
]

LET_SLEEP_AFTER_S: Final = 600.0
"""Idle time after which a car's data is no longer read, so that it can sleep (TeslaMate-like)."""

DRIVING_SHIFT_STATES: Final = frozenset({"D", "R", "N"})
"""Shift states of a car on the move (or about to be): the only ones worth a stream."""

ACTIVE_CHARGING: Final = frozenset({"Charging", "Starting"})

TOUCH_HOLDS_S: Final = 300.0
"""How long a `touch()` of a car not online yet still counts when it comes online (our choice:
a plug-in wakes a car within seconds; five minutes covers a slow cloud, not the next check-in)."""


def in_gear(shift_state: str | None) -> bool:
    return shift_state in DRIVING_SHIFT_STATES


class CarActivity(enum.StrEnum):
    """What a watched car is doing, as far as the watcher knows."""

    UNKNOWN = "unknown"  # not read yet, or the last summary named a state we do not know
    ASLEEP = "asleep"
    OFFLINE = "offline"
    ONLINE = "online"  # awake and read
    RESTING = "resting"  # awake, idle long enough: left alone so that it can fall asleep
    DRIVING = "driving"  # awake and in gear by the newest reading (polled or streamed)


@dataclass(frozen=True)
class StreamPolicy:
    """How hard a watcher tries to stream before it falls back to polling.

    A few quick retries ride out a dropped connection; after `max_failures` failed connections in
    a row the stream gives up, and the same car is not streamed again for `retry_after_s`.
    """

    max_failures: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 4.0
    retry_after_s: float = 60.0

    def backoff(self) -> Backoff:
        from .streaming import Backoff  # noqa: PLC0415 - aiohttp's websocket only when streaming

        return Backoff(initial_s=self.backoff_initial_s, max_s=self.backoff_max_s)


@dataclass(frozen=True)
class DriveFigures:
    """A car's drive figures from one source: a poll or a streamed update (`streamed`)."""

    shift_state: str | None
    speed_mph: float | None
    latitude: float | None
    longitude: float | None
    heading: float | None
    power_kw: float | None
    odometer_mi: float | None
    battery_level: float | None
    range_mi: float | None
    at: float | None  # time.monotonic() of the reading
    streamed: bool

    def age_s(self, now: float | None = None) -> float | None:
        if self.at is None:
            return None
        return max(0.0, (time.monotonic() if now is None else now) - self.at)


@dataclass(frozen=True)
class PollResult:
    """What one `poll()` did: the events a service records and a screen announces."""

    previous: CarActivity  # before the poll
    activity: CarActivity  # after it: a change is an event (fell asleep, drive started...)
    read_data: bool = False  # vehicle_data was read (billable)
    began_resting: bool = False  # idle long enough: from now on only the summary is read
    woke: bool = False  # a resting car was found online after asleep/offline: read again
    error: str | None = None  # why the poll failed (one line), None if it did not

    @property
    def changed(self) -> bool:
        return self.previous is not self.activity


UpdateCallback = Callable[["CarWatcher", "StreamUpdate"], None]
FailureCallback = Callable[["CarWatcher", str], None]


@dataclass(eq=False)
class CarWatcher:
    """One car watched without being woken: `poll()` decides what to read; the last of it is kept.

    `state` is the last summary's (online, asleep, offline, unknown); `data` the `VehicleData` of
    the last time the car was read online; `live` the last streamed update while it drove.
    `may_stream` False keeps this car polled only (a screen streams the car it shows).
    """

    vehicle: Vehicle
    state: str = "unknown"
    data: VehicleData | None = None
    error: str | None = None  # why the last poll failed, one line
    updated: float | None = None  # time.monotonic() of `data`
    live: StreamUpdate | None = None
    live_at: float | None = None  # time.monotonic() of `live`
    stream_error: str | None = None  # why the last stream of this car failed
    stream_error_at: float | None = None  # time.monotonic() of `stream_error`
    idle_since: float | None = None  # `clock` time since which every read found the car idle
    resting: bool = False
    let_sleep_after_s: float = LET_SLEEP_AFTER_S
    confirm_online_s: float = 0.0
    recheck_resting_s: float | None = None
    online_since: float | None = None  # `clock` time the summary first said online again
    resting_since: float | None = None  # `clock` time the car began to rest
    touched_at: float | None = None  # `clock` time of the last `touch()` not yet followed by a read
    stream_policy: StreamPolicy = field(default_factory=StreamPolicy)
    may_stream: bool = True
    clock: Callable[[], float] = time.monotonic
    on_update: UpdateCallback | None = None  # each streamed update, after it is applied
    on_stream_failure: FailureCallback | None = None  # the stream gave up: polling goes on
    stream: VehicleStream | None = field(default=None, init=False)  # open while streaming
    _stream_task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _closing: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)
    _stream_failed_at: float | None = field(default=None, init=False, repr=False)

    # --- what the watcher knows ---------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.vehicle.display_name or self.vehicle.vin or self.vehicle.id_s)

    @property
    def online(self) -> bool:
        return self.state == "online"

    @property
    def activity(self) -> CarActivity:
        """Asleep, offline, online, resting or driving (by the newest reading)."""
        if not self.online:
            try:
                return CarActivity(self.state)
            except ValueError:
                return CarActivity.UNKNOWN
        if in_gear(self.shift_state):
            return CarActivity.DRIVING
        return CarActivity.RESTING if self.resting else CarActivity.ONLINE

    @property
    def idle(self) -> bool:
        """Does the last data show a car nobody uses: parked, not charging, climate off, nobody in it?"""
        data = self.data
        if data is None:
            return False
        present = data.vehicle_state.get("is_user_present") is True
        return (
            data.shift_state in (None, "P")
            and data.charging_state not in ACTIVE_CHARGING
            and not data.is_climate_on
            and not present
        )

    @property
    def shift_state(self) -> str | None:
        """The gear by the newest reading, streamed or polled (None: parked or unknown)."""
        update = self._newest_update()
        if update is not None:
            return update.shift_state
        return None if self.data is None else self.data.shift_state

    def drive(self) -> DriveFigures | None:
        """The drive figures from the newer of the last poll and the last streamed update."""
        update = self._newest_update()
        if update is not None:
            return DriveFigures(
                shift_state=update.shift_state,
                speed_mph=update.speed_mph,
                latitude=update.latitude,
                longitude=update.longitude,
                heading=update.heading,
                power_kw=update.power_kw,
                odometer_mi=update.odometer_mi,
                battery_level=update.soc,
                range_mi=update.range_mi,
                at=self.live_at,
                streamed=True,
            )
        data = self.data
        if data is None:
            return None
        return DriveFigures(
            shift_state=data.shift_state,
            speed_mph=data.speed_mph,
            latitude=data.latitude,
            longitude=data.longitude,
            heading=data.heading,
            power_kw=data.power_kw,
            odometer_mi=data.odometer_mi,
            battery_level=data.battery_level,
            range_mi=data.battery_range_mi,
            at=self.updated,
            streamed=False,
        )

    def _newest_update(self) -> StreamUpdate | None:
        """The streamed update if it is newer than the last poll (else None: the poll is newer)."""
        if self.live is None or self.live_at is None:
            return None
        if self.updated is not None and self.updated > self.live_at:
            return None
        return self.live

    # --- reading ------------------------------------------------------------------------------

    def touch(self) -> None:
        """Someone uses the car (an action, a request to read it): read it again, count idle anew.

        A service that learns of a plug-in from the Wall Connector calls `touch()` then `poll()`:
        the car is read if it is awake, and never woken (an asleep car stays a summary read).
        """
        self._resume()
        self.touched_at = self.clock()  # someone uses it: no check-in to wait out

    def _resume(self) -> None:
        self.resting = False
        self.resting_since = None
        self.idle_since = None
        self.online_since = None

    @property
    def confirming(self) -> bool:
        """Online again after asleep or offline, for less than `confirm_online_s`: not read yet."""
        if self.online_since is None or not self.online:
            return False
        return self.clock() - self.online_since < self.confirm_online_s

    async def poll(self) -> PollResult:
        """One round: the summary, then vehicle_data only if online and not resting; then the stream.

        Errors are kept in `error` (and returned), never raised: a watcher goes on.
        """
        previous = self.activity
        read = began = woke = False
        try:
            read, began, woke = await self._read()
        except VehicleUnavailable:  # went to sleep between the summary and the data
            self.state = "asleep" if self.state == "online" else self.state
            self.error = None
        except TeslalinkError as exc:
            self.error = _one_line(exc)
        self.follow_stream()
        return PollResult(previous, self.activity, read, began, woke, self.error)

    async def _read(self) -> tuple[bool, bool, bool]:
        """Read what the policy allows: (vehicle_data read, began resting, woke by other means)."""
        await self.vehicle.summary()
        before, self.state = self.state, self.vehicle.state
        now = self.clock()
        back = self.online and before not in {"online", "unknown"}
        if not self.online:
            self.online_since = None
        woke = self.resting and back
        if woke:
            self._resume()  # it slept or went offline and is back: someone may be using it
        held = max(self.confirm_online_s, TOUCH_HOLDS_S)
        wanted = self.touched_at is not None and now - self.touched_at <= held
        if back and self.confirm_online_s > 0 and not wanted:
            self.online_since = now  # maybe an hourly check-in: wait it out before reading
        recheck, since = self.recheck_resting_s, self.resting_since
        kept_up = recheck is not None and since is not None and now - since >= recheck
        if self.resting and self.online and kept_up:
            self._resume()  # still awake long after it began to rest: something keeps it up
        read = began = False
        if self.online and not self.resting and not self.confirming:
            self.data = await self.vehicle.vehicle_data()
            self.touched_at = None
            self.state = self.vehicle.state
            self.updated = time.monotonic()
            read, began = True, self._count_idle()
        self.error = None
        return read, began, woke

    def _count_idle(self) -> bool:
        """After a read: restart or continue the idle period; True when the car begins to rest."""
        if not self.idle:
            self.idle_since = None
            return False
        now = self.clock()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since >= self.let_sleep_after_s:
            self.resting = True
            self.resting_since = now
            return True
        return False

    # --- streaming ----------------------------------------------------------------------------

    @property
    def streamable(self) -> bool:
        """Can this car be streamed at all: a vehicle_id, and an API that knows a streaming URL."""
        api = getattr(self.vehicle, "api", None)  # a stand-in car (a preview, a test) has none
        vehicle_id = getattr(self.vehicle, "vehicle_id", None)
        return vehicle_id is not None and api is not None and bool(api.urls.streaming)

    @property
    def wants_stream(self) -> bool:
        """Should this car be streamed now? Online, in gear by the newest reading, not failed lately."""
        if not (self.may_stream and self.online and in_gear(self.shift_state) and self.streamable):
            return False
        failed = self._stream_failed_at
        return failed is None or self.clock() - failed >= self.stream_policy.retry_after_s

    @property
    def streaming(self) -> bool:
        """A stream is open and its last message was an update (not a wait or a retry)."""
        from .streaming import StreamState  # noqa: PLC0415

        return self.stream is not None and self.stream.stats.state is StreamState.STREAMING

    def apply(self, update: StreamUpdate) -> None:
        """Take one streamed update; the drive figures now come from it until the next poll."""
        self.live, self.live_at = update, time.monotonic()
        self.stream_error = self.stream_error_at = None

    def follow_stream(self) -> None:
        """Open the stream if `wants_stream`, end it if not. Needs a running loop only to act."""
        if not self.wants_stream:
            self._end_stream()
            return
        if self.stream is not None:
            return
        stream = self.vehicle.stream(
            backoff=self.stream_policy.backoff(), max_failures=self.stream_policy.max_failures
        )
        self.stream = stream
        self._stream_task = asyncio.get_running_loop().create_task(self._run(stream))

    async def aclose(self) -> None:
        """End the stream and wait until its socket and tasks are gone."""
        self._end_stream()
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _end_stream(self) -> None:
        stream, task = self.stream, self._stream_task
        self.stream = self._stream_task = None
        if stream is None or task is None:
            return
        closing = asyncio.get_running_loop().create_task(_stop(stream, task))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _run(self, stream: VehicleStream) -> None:
        """Apply each update; end at a park; a failure is kept and reported, polling goes on."""
        try:
            async with stream:
                async for update in stream:
                    self.apply(update)
                    if self.on_update is not None:
                        self.on_update(self, update)
                    if not in_gear(update.shift_state):
                        break  # parked: the car may sleep now; polling takes over
        except Exception as exc:  # whatever the stream does, the watcher goes on
            self._stream_failed_at = self.clock()
            self.stream_error, self.stream_error_at = _one_line(exc), time.monotonic()
            if self.on_stream_failure is not None:
                self.on_stream_failure(self, self.stream_error)
        finally:
            if self.stream is stream:
                self.stream = self._stream_task = None


class FleetWatcher:
    """The watchers of an account's cars, polled together (every car's request in flight at once)."""

    def __init__(self, cars: Sequence[CarWatcher], *, clock: Callable[[], float] | None = None) -> None:
        self.cars = list(cars)
        if clock is not None:
            self.set_clock(clock)

    @classmethod
    async def of(
        cls,
        api: TeslaApi,
        vehicle: str | None = None,
        *,
        let_sleep_after_s: float = LET_SLEEP_AFTER_S,
        stream_policy: StreamPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> FleetWatcher:
        """Every car of `api`'s account, or only the one `vehicle` names (see `TeslaApi.vehicle`).

        One products read, which wakes no car; each watcher starts from the state it lists.
        """
        cars = [await api.vehicle(vehicle)] if vehicle is not None else await api.vehicles()
        policy = stream_policy or StreamPolicy()
        return cls(
            [
                CarWatcher(car, state=car.state, let_sleep_after_s=let_sleep_after_s, stream_policy=policy)
                for car in cars
            ],
            clock=clock,
        )

    async def poll(self) -> list[PollResult]:
        """Poll every car at once; the results in the order of `cars`."""
        return list(await asyncio.gather(*(car.poll() for car in self.cars)))

    def car(self, name_or_vin_or_id: str) -> CarWatcher:
        """The watcher of one car, named as `TeslaApi.vehicle` names it."""
        from .selection import pick_vehicle  # noqa: PLC0415

        chosen = pick_vehicle([car.vehicle for car in self.cars], name_or_vin_or_id)
        return next(car for car in self.cars if car.vehicle is chosen)

    @property
    def streamed(self) -> list[CarWatcher]:
        """The cars whose stream is open now."""
        return [car for car in self.cars if car.stream is not None]

    def set_let_sleep_after(self, seconds: float) -> None:
        for car in self.cars:
            car.let_sleep_after_s = seconds

    def set_stream_policy(self, policy: StreamPolicy) -> None:
        for car in self.cars:
            car.stream_policy = policy

    def set_clock(self, clock: Callable[[], float]) -> None:
        for car in self.cars:
            car.clock = clock

    async def aclose(self) -> None:
        """End every stream and wait until their sockets are closed."""
        await asyncio.gather(*(car.aclose() for car in self.cars))


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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
