"""`teslalink dashboard`: cars, a Wall Connector and an energy site in one live console view.

The model (`Dashboard`) polls and acts; `dashboard_view` draws it. They are apart so that tests
can drive the model against the twin and check its values without a terminal.

Sleep-friendly polling: every refresh reads the car's summary first (which never wakes a car or
keeps it awake) and asks for vehicle_data only when the summary says online. An asleep car stays
asleep until the user presses the wake key. Reading vehicle_data keeps a car awake, so a car that
has been idle (parked, not charging, climate off, nobody in it) for `let_sleep_after_s` rests: its
data is no longer read, only its summary, so that it can fall asleep as it would untouched. It
is read again when the user asks (r, or any action) or when its summary shows it woke up by
other means (asleep or offline, then online again).

While the selected car drives, its drive panel is live: `dashboard_stream.LiveDrive` subscribes to
Tesla's streaming API for that car alone and copies each update onto the `CarWatch`; it ends the
stream when the car parks, sleeps, is deselected or the dashboard closes (see that module for why).

Keys are read by a thread with the terminal in cbreak mode (restored on exit, errors included)
and handed to the event loop. The commands refuse to start when stdout is not a terminal
(`require_terminal`); `show()` itself still draws frames to any console (tests use that).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ._cloud import CloudTarget, cloud_options, is_interactive, pick_vehicle, vehicle_option
from ._common import run, safe_console
from .dashboard_stream import LiveDrive, newest, opener

if TYPE_CHECKING:
    from ..cloud.stream_models import StreamUpdate

KEYS_HELP = "w wake  c climate  s charge  l lock  f flash  h honk  r read  n next  q quit"
LET_SLEEP_AFTER_S = 600.0
"""Idle time after which a car's data is no longer read, so that it can sleep (TeslaMate-like)."""
ACTIVE_CHARGING = ("Charging", "Starting")


@dataclass
class CarWatch:
    """One car on screen: its client object, the last summary state, the last data and any error."""

    vehicle: Any
    state: str = "unknown"
    data: Any = None  # VehicleData of the last time the car was online
    error: str | None = None
    updated: float | None = None  # monotonic time of `data`
    live: StreamUpdate | None = None  # the last streamed update (while the car drove, selected)
    live_at: float | None = None  # monotonic time of `live`
    stream_error: str | None = None  # why the last stream of this car failed
    stream_error_at: float | None = None
    idle_since: float | None = None  # monotonic: since when every read found the car idle
    resting: bool = False  # idle long enough: data is not read, so the car can fall asleep

    @property
    def name(self) -> str:
        return str(self.vehicle.display_name or self.vehicle.vin or self.vehicle.id_s)

    @property
    def online(self) -> bool:
        return self.state == "online"

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

    def stir(self) -> None:
        """Someone uses the car (a key, or it woke by itself): read it again, count idle anew."""
        self.resting = False
        self.idle_since = None

    @property
    def shift_state(self) -> str | None:
        """The gear by the newest reading, streamed or polled (None: parked or unknown)."""
        update = newest(self)
        if update is not None:
            return update.shift_state
        return None if self.data is None else self.data.shift_state

    def apply(self, update: StreamUpdate) -> None:
        """Take one streamed update; the drive figures now come from it until the next poll."""
        self.live, self.live_at = update, time.monotonic()
        self.stream_error = self.stream_error_at = None

    def drive(self) -> DriveFigures | None:
        """The drive figures from the newer of the last poll and the last streamed update."""
        update = newest(self)
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


@dataclass(frozen=True)
class DriveFigures:
    """What the drive panel shows, from one source: a poll or a streamed update (`streamed`)."""

    shift_state: str | None
    speed_mph: float | None
    latitude: float | None
    longitude: float | None
    heading: float | None
    power_kw: float | None
    odometer_mi: float | None
    battery_level: float | None
    range_mi: float | None
    at: float | None  # monotonic time of the reading
    streamed: bool

    def age_s(self, now: float | None = None) -> float | None:
        if self.at is None:
            return None
        return max(0.0, (time.monotonic() if now is None else now) - self.at)


@dataclass
class ChargerWatch:
    """The Wall Connector beside the car: its client and the last vitals and power."""

    client: Any
    host: str
    vitals: Any = None
    power: Any = None
    error: str | None = None


@dataclass
class SiteWatch:
    site: Any
    status: Any = None  # LiveStatus
    error: str | None = None

    @property
    def name(self) -> str:
        return str(self.site.label)


@dataclass
class Dashboard:
    """What the dashboard knows and can do; `refresh()` polls, `key()` acts."""

    cars: list[CarWatch]
    charger: ChargerWatch | None = None
    site: SiteWatch | None = None
    selected: int = 0
    status: str = ""
    pending_confirm: str | None = None
    busy: set[asyncio.Future[str]] = field(default_factory=set)
    quit: bool = False
    streamer: LiveDrive = field(default_factory=LiveDrive)  # the selected car's stream while it drives
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set by each streamed update
    let_sleep_after_s: float = LET_SLEEP_AFTER_S
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.streamer.on_update = self.changed.set
        self.streamer.on_failure = self._stream_failed

    @property
    def car(self) -> CarWatch | None:
        return self.cars[self.selected] if self.cars else None

    def is_live(self, car: CarWatch) -> bool:
        """Is `car`'s drive panel following its stream right now?"""
        return self.streamer.car is car and self.streamer.streaming

    def stream_error(self, car: CarWatch) -> str | None:
        """Why `car`'s last stream failed, for a short while after it did (then the panel is quiet)."""
        at = car.stream_error_at
        if car.stream_error is None or at is None:
            return None
        return car.stream_error if time.monotonic() - at < self.streamer.policy.error_shown_s else None

    def _stream_failed(self, car: CarWatch, message: str) -> None:
        self.status = f"{car.name}: live drive stopped ({message}); polling"
        self.changed.set()

    # --- polling -------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """One round: every car (summary, then data if online), the charger, the site."""
        await asyncio.gather(
            *(self._refresh_car(car) for car in self.cars),
            self._refresh_charger(),
            self._refresh_site(),
        )
        self.streamer.follow(self.car)

    async def _refresh_car(self, car: CarWatch) -> None:
        from ..errors import TeslalinkError, VehicleUnavailable  # noqa: PLC0415

        try:
            await car.vehicle.summary()
            before, car.state = car.state, car.vehicle.state
            if car.resting and car.online and before != "online":
                car.stir()  # it slept or went offline and is back: someone may be using it
            if car.online and not car.resting:
                car.data = await car.vehicle.vehicle_data()
                car.state = car.vehicle.state
                car.updated = time.monotonic()
                self._watch_idle(car)
            car.error = None
        except VehicleUnavailable:
            car.state = "asleep" if car.state == "online" else car.state
            car.error = None
        except TeslalinkError as exc:
            car.error = _one_line(exc)

    def _watch_idle(self, car: CarWatch) -> None:
        if not car.idle:
            car.idle_since = None
            return
        now = self.clock()
        if car.idle_since is None:
            car.idle_since = now
        if now - car.idle_since >= self.let_sleep_after_s:
            car.resting = True
            self.status = f"{car.name}: idle, no longer read so that it can sleep (r reads it now)"

    async def read_now(self, car: CarWatch) -> str:
        """The r key: read the car at once, and keep reading it (its idle time counts anew)."""
        car.stir()
        await self._refresh_car(car)
        self.streamer.follow(self.car)
        message = f"{car.name}: {car.state}" if car.error is None else f"{car.name}: {car.error}"
        self.status = message
        return message

    async def _refresh_charger(self) -> None:
        from ..errors import TeslalinkError  # noqa: PLC0415

        charger = self.charger
        if charger is None:
            return
        try:
            vitals = await charger.client.vitals()
            charger.vitals, charger.power, charger.error = vitals, charger.client.power(vitals), None
        except TeslalinkError as exc:
            charger.error = _one_line(exc)

    async def _refresh_site(self) -> None:
        from ..errors import TeslalinkError  # noqa: PLC0415

        site = self.site
        if site is None:
            return
        try:
            site.status, site.error = await site.site.live_status(), None
        except TeslalinkError as exc:
            site.error = _one_line(exc)

    # --- actions -------------------------------------------------------------------------------

    def actions(self) -> dict[str, tuple[str, Callable[[CarWatch], Awaitable[str]]]]:
        return {
            "w": ("wake", _wake),
            "c": ("climate", _climate_toggle),
            "s": ("charge", _charge_toggle),
            "l": ("lock", _lock_toggle),
            "f": ("flash lights", _command("flash_lights", "lights flashed")),
            "h": ("honk", _command("honk_horn", "horn honked")),
        }

    def key(self, key: str) -> Awaitable[str] | None:
        """Handle one key; returns the action to run (the caller awaits it), or None."""
        key = key.lower()
        car = self.car
        if self.pending_confirm is not None:
            pending, self.pending_confirm = self.pending_confirm, None
            if key == "y" and pending == "unlock" and car is not None:
                self.status = f"{car.name}: unlocking…"
                return self.perform(car, "unlock", _command("unlock", "unlocked"))
            self.status = f"{pending}: cancelled"
            return None
        if key == "q":
            self.quit = True
            return None
        if key == "n" and self.cars:
            self.selected = (self.selected + 1) % len(self.cars)
            self.status = f"selected {self.cars[self.selected].name}"
            self.streamer.follow(self.car)
            return None
        if key == "r" and car is not None:
            self.status = f"{car.name}: reading…"
            return self.read_now(car)
        action = self.actions().get(key)
        if action is None or car is None:
            return None
        what, do = action
        if key == "l" and car.data is not None and car.data.locked:
            self.pending_confirm = "unlock"
            self.status = f"Unlock {car.name}? y/n"
            return None
        self.status = f"{car.name}: {what}…"
        return self.perform(car, what, do)

    async def perform(self, car: CarWatch, what: str, do: Callable[[CarWatch], Awaitable[str]]) -> str:
        """Run one action; its outcome (or its reason for failing) goes to the status bar."""
        from ..errors import TeslalinkError  # noqa: PLC0415

        car.stir()  # the user is using this car: read it again
        try:
            message = f"{car.name}: {await do(car)}"
        except TeslalinkError as exc:
            message = f"{car.name}: {what} failed: {_one_line(exc)}"
        self.status = message
        await self._refresh_car(car)
        self.streamer.follow(self.car)
        return message


def require_terminal(command: str, plain: str = "`teslalink stream` or `teslalink vehicle`") -> None:
    """Fail at once, in one line, when stdout is not a terminal (a pipe, a file).

    Our choice (issue 8): a live screen redraws in place, so piped it would write nothing useful
    until killed; the plain-text views of the same data are `teslalink stream` (a line per
    streamed update) and `teslalink vehicle`. Exit code 1, nothing else printed, no key read.
    """
    if not sys.stdout.isatty():
        raise click.ClickException(
            f"`teslalink {command}` draws a live screen and needs a terminal, and stdout is not one "
            f"(for plain text lines: {plain})"
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


async def _wake(car: CarWatch) -> str:
    await car.vehicle.wake_up(timeout=60.0, interval=1.0)
    return "online"


async def _climate_toggle(car: CarWatch) -> str:
    if car.data is not None and car.data.is_climate_on:
        await car.vehicle.climate_off()
        return "climate off"
    await car.vehicle.climate_on()
    return "climate on"


async def _charge_toggle(car: CarWatch) -> str:
    if car.data is not None and car.data.charging_state == "Charging":
        await car.vehicle.charge_stop()
        return "charging stopped"
    await car.vehicle.charge_start()
    return "charging started"


async def _lock_toggle(car: CarWatch) -> str:
    await car.vehicle.lock()
    return "locked"


def _command(method: str, done: str) -> Callable[[CarWatch], Awaitable[str]]:
    async def do(car: CarWatch) -> str:
        await getattr(car.vehicle, method)()
        return done

    return do


# --- building and running ---------------------------------------------------------------------------


async def build(
    api: Any,
    *,
    vehicle_key: str | None = None,
    wallconnector: str | None = None,
    with_site: bool = True,
) -> Dashboard:
    """The dashboard of `api`'s account: the car named (or all of them), the charger, the first site."""
    from ..errors import TeslalinkError  # noqa: PLC0415

    vehicles = await api.vehicles()
    chosen = [pick_vehicle(vehicles, vehicle_key)] if vehicle_key is not None else vehicles
    dashboard = Dashboard([CarWatch(v, state=v.state) for v in chosen], streamer=LiveDrive(opener(api)))
    if wallconnector is not None:
        from ..wallconnector.client import WallConnector  # noqa: PLC0415

        dashboard.charger = ChargerWatch(WallConnector(wallconnector), wallconnector)
    if with_site:
        try:
            sites = await api.energy_sites()
        except TeslalinkError as exc:
            dashboard.status = f"energy sites: {_one_line(exc)}"
            sites = []
        if sites:
            dashboard.site = SiteWatch(sites[0])
            with contextlib.suppress(TeslalinkError):  # a solar-only site is named in site_info only
                await sites[0].resolve_name()
    if not dashboard.cars:
        dashboard.status = "this account has no car"
    return dashboard


async def close(dashboard: Dashboard) -> None:
    """Cancel pending actions, end the stream, close the charger's connection."""
    for task in list(dashboard.busy):
        task.cancel()
    await asyncio.gather(*dashboard.busy, return_exceptions=True)
    await dashboard.streamer.aclose()
    if dashboard.charger is not None:
        await dashboard.charger.client.close()


@contextlib.contextmanager
def key_reader(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> Iterator[None]:
    """Read single keys from the terminal in cbreak mode on a thread; restore the terminal after."""
    import termios  # noqa: PLC0415 - POSIX only, and only on a terminal
    import tty  # noqa: PLC0415

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(fd, 32)
            if not data:
                return
            for char in data.decode(errors="ignore"):
                loop.call_soon_threadsafe(queue.put_nowait, char)

    tty.setcbreak(fd)
    thread = threading.Thread(target=read, name="teslalink-keys", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1.0)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def next_key(queue: asyncio.Queue[str], changed: asyncio.Event, wait_s: float) -> str | None:
    """The next key; None after `wait_s` or as soon as `changed` is set (a streamed update to draw).

    Waiting on both is what lets the live drive panel move at the stream's rate, not the redraw tick.
    """
    if not queue.empty():
        return queue.get_nowait()
    getter = asyncio.ensure_future(queue.get())
    waiter = asyncio.ensure_future(changed.wait())
    try:
        await asyncio.wait({getter, waiter}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (getter, waiter):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    changed.clear()
    return None if getter.cancelled() else getter.result()


async def show(
    dashboard: Dashboard,
    *,
    interval_s: float,
    duration_s: float | None = None,
    title: str = "teslalink dashboard",
    console: Any = None,
    keys: bool | None = None,
) -> None:
    """Refresh every `interval_s` and redraw until `q`, Ctrl-C or `duration_s`; keys on a terminal."""
    from rich.live import Live  # noqa: PLC0415

    from .dashboard_view import render  # noqa: PLC0415

    console = console or safe_console()
    interactive = is_interactive() if keys is None else keys
    queue: asyncio.Queue[str] = asyncio.Queue()
    deadline = None if duration_s is None else time.monotonic() + duration_s
    loop = asyncio.get_running_loop()

    def draw() -> Any:
        return render(dashboard, title=title, keys_help=KEYS_HELP if interactive else None)

    async def poll_forever() -> None:
        while True:
            started = time.monotonic()
            await dashboard.refresh()
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))

    with contextlib.ExitStack() as stack:
        if interactive:
            stack.enter_context(key_reader(loop, queue))
        poller = asyncio.create_task(poll_forever())
        try:
            with Live(draw(), console=console, auto_refresh=False, transient=False) as live:
                while not dashboard.quit and (deadline is None or time.monotonic() < deadline):
                    timeout = min(0.25, interval_s)
                    if deadline is not None:
                        timeout = max(0.0, min(timeout, deadline - time.monotonic()))
                    key = await next_key(queue, dashboard.changed, timeout)
                    action = None if key is None else dashboard.key(key)
                    if action is not None:
                        task = asyncio.ensure_future(action)
                        dashboard.busy.add(task)
                        task.add_done_callback(dashboard.busy.discard)
                    live.update(draw(), refresh=True)
                await asyncio.sleep(0)
                live.update(draw(), refresh=True)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)


@click.command("dashboard")
@vehicle_option
@click.option("--wallconnector", "wallconnector", metavar="HOST", default=None,
              help="A Wall Connector to show beside the car (host or URL).")  # fmt: skip
@click.option("--interval", type=click.FloatRange(min=0.2), default=5.0, show_default=True,
              help="Seconds between refreshes.")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--let-sleep-after", "let_sleep_after", type=click.FloatRange(min=0), metavar="MINUTES",
              default=LET_SLEEP_AFTER_S / 60, show_default=True,
              help="Stop reading an idle car after this long, so that it can sleep.")  # fmt: skip
@cloud_options
def dashboard(
    target: CloudTarget,
    vehicle_key: str | None,
    wallconnector: str | None,
    interval: float,
    duration: float | None,
    let_sleep_after: float,
) -> None:
    """Live panels of a car (charge, climate, drive, state), its Wall Connector and the energy site.

    Never wakes a car by itself: an asleep car is shown asleep until you press `w`, and a car
    idle for --let-sleep-after minutes is no longer read so that it can fall asleep. While the
    selected car drives, its drive panel follows Tesla's streaming API ("live"). On a terminal
    keys act on the selected car: w wake, c climate, s charge, l lock/unlock (asks before
    unlocking), f flash, h honk, r read now, n next car, q quit.

    The screen fits the terminal: boxed panels when there is room, one line per panel on a
    small one (80x24). Temperatures and distances on the whole screen follow the selected
    car's display settings (°F or °C, mi or km). Needs a terminal: with stdout a pipe or a
    file it fails at once (exit 1); use `teslalink stream` for plain text lines.
    """
    require_terminal("dashboard")

    async def go() -> None:
        async with target.api() as api:
            board = await build(api, vehicle_key=vehicle_key, wallconnector=wallconnector)
            board.let_sleep_after_s = let_sleep_after * 60
            try:
                await show(board, interval_s=interval, duration_s=duration)
            finally:
                await close(board)

    run(go())
