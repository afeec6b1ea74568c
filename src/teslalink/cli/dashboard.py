"""`teslalink dashboard`: cars, a Wall Connector and an energy site in one live console view.

The model (`Dashboard`) polls and acts; `dashboard_view` draws it. They are apart so that tests
can drive the model against the twin and check its values without a terminal.

Which car is read, when, and when it is streamed is the library's sleep-friendly policy
(`teslalink.cloud.watcher`: summary first, vehicle_data only when online, an idle car left alone
after `--let-sleep-after` minutes so that it can sleep, read again on r, an action or when it
woke by other means; streamed while it drives). The dashboard adds only the selection (the
selected car alone is streamed: one socket for the car the user looks at), the keys and the
status line.

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
from typing import TYPE_CHECKING

import click

from ..cloud.watcher import LET_SLEEP_AFTER_S
from ._cloud import CloudTarget, cloud_options, is_interactive, vehicle_option
from ._common import run, safe_console

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from ..cloud.api import TeslaApi
    from ..cloud.energy import EnergySite, LiveStatus
    from ..cloud.streaming import VehicleStream
    from ..cloud.watcher import CarWatcher, PollResult, StreamPolicy
    from ..wallconnector.client import WallConnector
    from ..wallconnector.models import Vitals
    from ..wallconnector.power import PowerReading

KEYS_HELP = "w wake  c climate  s charge  l lock  f flash  h honk  r read  n next  q quit"
STREAM_ERROR_SHOWN_S = 30.0
"""How long a failed stream's reason stays in the car's drive panel (then the panel is quiet)."""


@dataclass
class ChargerWatch:
    """The Wall Connector beside the car: its client and the last vitals and power."""

    client: WallConnector
    host: str
    vitals: Vitals | None = None
    power: PowerReading | None = None
    error: str | None = None


@dataclass
class SiteWatch:
    site: EnergySite
    status: LiveStatus | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return str(self.site.label)


@dataclass
class Dashboard:
    """What the dashboard shows and can do; `refresh()` polls, `key()` acts.

    The cars are the library's `CarWatcher`s (what to read, when to let a car sleep, when to
    stream: `teslalink.cloud.watcher`); the dashboard adds the selection (only the selected car
    is streamed), the keys and the status line.
    """

    cars: list[CarWatcher]
    charger: ChargerWatch | None = None
    site: SiteWatch | None = None
    selected: int = 0
    status: str = ""
    pending_confirm: str | None = None
    busy: set[asyncio.Future[str]] = field(default_factory=set)
    quit: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # set by each streamed update

    def __post_init__(self) -> None:
        from ..cloud.watcher import FleetWatcher  # noqa: PLC0415 - the cloud client only when run

        self.fleet = FleetWatcher(self.cars)
        for car in self.cars:
            car.on_update = lambda _car, _update: self.changed.set()
            car.on_stream_failure = self._stream_failed
        self._select()

    @property
    def car(self) -> CarWatcher | None:
        return self.cars[self.selected] if self.cars else None

    # The watchers' settings, set on every car (the command's options, a test's world clock).
    @property
    def let_sleep_after_s(self) -> float:
        return self.cars[0].let_sleep_after_s if self.cars else 0.0

    @let_sleep_after_s.setter
    def let_sleep_after_s(self, seconds: float) -> None:
        self.fleet.set_let_sleep_after(seconds)

    @property
    def clock(self) -> Callable[[], float]:
        return self.cars[0].clock if self.cars else time.monotonic

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.fleet.set_clock(clock)

    @property
    def stream_policy(self) -> StreamPolicy | None:
        return self.cars[0].stream_policy if self.cars else None

    @stream_policy.setter
    def stream_policy(self, policy: StreamPolicy) -> None:
        self.fleet.set_stream_policy(policy)

    @property
    def streamed(self) -> CarWatcher | None:
        """The car whose stream is open (only ever the selected one), or None."""
        return next(iter(self.fleet.streamed), None)

    @property
    def stream(self) -> VehicleStream | None:
        car = self.streamed
        return None if car is None else car.stream

    def is_live(self, car: CarWatcher) -> bool:
        """Is `car`'s drive panel following its stream right now?"""
        return car.streaming

    def stream_error(self, car: CarWatcher) -> str | None:
        """Why `car`'s last stream failed, for a short while after it did (then the panel is quiet)."""
        at = car.stream_error_at
        if car.stream_error is None or at is None:
            return None
        return car.stream_error if time.monotonic() - at < STREAM_ERROR_SHOWN_S else None

    def _stream_failed(self, car: CarWatcher, message: str) -> None:
        self.status = f"{car.name}: live drive stopped ({message}); polling"
        self.changed.set()

    def _select(self) -> None:
        """Only the selected car may stream: the others end theirs (the stream costs its car sleep)."""
        for index, car in enumerate(self.cars):
            car.may_stream = index == self.selected
            car.follow_stream()

    # --- polling -------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """One round: every car (summary, then data if online), the charger, the site."""
        self._select()  # `selected` may have been set directly (the demo selects the driving car)
        polls, _, _ = await asyncio.gather(self.fleet.poll(), self._refresh_charger(), self._refresh_site())
        for car, result in zip(self.cars, polls, strict=True):
            self._announce(car, result)

    async def _refresh_car(self, car: CarWatcher) -> None:
        self._announce(car, await car.poll())

    def _announce(self, car: CarWatcher, result: PollResult) -> None:
        if result.began_resting:
            self.status = f"{car.name}: idle, no longer read so that it can sleep (r reads it now)"

    async def read_now(self, car: CarWatcher) -> str:
        """The r key: read the car at once, and keep reading it (its idle time counts anew)."""
        car.touch()
        await self._refresh_car(car)
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

    def actions(self) -> dict[str, tuple[str, Callable[[CarWatcher], Awaitable[str]]]]:
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
            self._select()
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

    async def perform(self, car: CarWatcher, what: str, do: Callable[[CarWatcher], Awaitable[str]]) -> str:
        """Run one action; its outcome (or its reason for failing) goes to the status bar."""
        from ..errors import TeslalinkError  # noqa: PLC0415

        car.touch()  # the user is using this car: read it again
        try:
            message = f"{car.name}: {await do(car)}"
        except TeslalinkError as exc:
            message = f"{car.name}: {what} failed: {_one_line(exc)}"
        self.status = message
        await self._refresh_car(car)
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


async def _wake(car: CarWatcher) -> str:
    await car.vehicle.wake_up(timeout=60.0, interval=1.0)
    return "online"


async def _climate_toggle(car: CarWatcher) -> str:
    if car.data is not None and car.data.is_climate_on:
        await car.vehicle.climate_off()
        return "climate off"
    await car.vehicle.climate_on()
    return "climate on"


async def _charge_toggle(car: CarWatcher) -> str:
    if car.data is not None and car.data.charging_state == "Charging":
        await car.vehicle.charge_stop()
        return "charging stopped"
    await car.vehicle.charge_start()
    return "charging started"


async def _lock_toggle(car: CarWatcher) -> str:
    await car.vehicle.lock()
    return "locked"


def _command(method: str, done: str) -> Callable[[CarWatcher], Awaitable[str]]:
    async def do(car: CarWatcher) -> str:
        await getattr(car.vehicle, method)()
        return done

    return do


# --- building and running ---------------------------------------------------------------------------


async def build(
    api: TeslaApi,
    *,
    vehicle_key: str | None = None,
    wallconnector: str | None = None,
    with_site: bool = True,
) -> Dashboard:
    """The dashboard of `api`'s account: the car named (or all of them), the charger, the first site."""
    from ..cloud.watcher import FleetWatcher  # noqa: PLC0415
    from ..errors import TeslalinkError  # noqa: PLC0415

    fleet = await FleetWatcher.of(api, vehicle_key)
    dashboard = Dashboard(fleet.cars)
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
    await dashboard.fleet.aclose()
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
    console: Console | None = None,
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

    def draw() -> RenderableType:
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


OWNER_API_INTERVAL_S = 5.0
FLEET_API_INTERVAL_S = 60.0
"""Our choice: over the Fleet API every vehicle_data read of an online car is billed ($0.002,
research/fleet.md 1.9): every 5 s that is $1.44 an hour per car, every 60 s $0.12."""


def refresh_interval(api: TeslaApi, given: float | None) -> float:
    """The --interval given, else the default for the API the account uses."""
    if given is not None:
        return given
    from ..cloud.fleet.api import FleetApi  # noqa: PLC0415 - lean: no extra needed

    return FLEET_API_INTERVAL_S if isinstance(api, FleetApi) else OWNER_API_INTERVAL_S


@click.command("dashboard")
@vehicle_option
@click.option("--wallconnector", "wallconnector", metavar="HOST", default=None,
              help="A Wall Connector to show beside the car (host or URL).")  # fmt: skip
@click.option("--interval", type=click.FloatRange(min=0.2), default=None,
              help="Seconds between refreshes (default 5; Fleet API 60: reads are billed).")  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--let-sleep-after", "let_sleep_after", type=click.FloatRange(min=0), metavar="MINUTES",
              default=LET_SLEEP_AFTER_S / 60, show_default=True,
              help="Stop reading an idle car after this long, so that it can sleep.")  # fmt: skip
@cloud_options
def dashboard(
    target: CloudTarget,
    vehicle_key: str | None,
    wallconnector: str | None,
    interval: float | None,
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
                await show(board, interval_s=refresh_interval(api, interval), duration_s=duration)
            finally:
                await close(board)

    run(go())
