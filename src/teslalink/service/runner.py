"""`teslalink serve`: the parts of the service joined into one long-running process.

`Service` owns one `Scheduler` and gives it every job: one per account (open it; then, every
few minutes, its month of billable calls), one per car, Wall Connector (vitals, and lifetime
every minute) and energy site (live status, and its history once a day), and the service's own
timers (the engine's tick, its state file, the units' state files, downsampling). Readings go
to the `Engine`, which makes events and records; those go to the `Recorder`, events also to the
`Notifier` and into `ServiceState`, which the listener shows (`/status`, `/health`, `/metrics`).

What keeps it running for months (issue 11 section 1):

* an account that cannot be opened (no login, an expired refresh token, Tesla down) is one line
  in its status and in the log, retried with a doubling backoff (`ACCOUNT_RETRY_MIN_S` to
  `ACCOUNT_RETRY_MAX_S`); everything else runs meanwhile;
* a device that fails is its job's business (a reading with an error, read again later); a
  step that raises is supervised by the scheduler (logged, retried with backoff);
* the engine's and the units' state are written atomically every minute and at stop, so a
  restart continues the sessions it left (the recorder upserts them by key).

It never wakes a car: the only car reads are `CarWatcher.poll()` (the summary first, data only
when the car is awake), and a Wall Connector's plug-in edge only makes the car's job due now.

One service runs in two clocks: real time (`run(stop)`, the CLI) and a frozen twin world's
virtual time (`run_until(ts)`, the tests and the benchmark: days of world time in seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .. import __version__
from .._files import atomic_write_bytes
from .._json import dumps, loads
from ..errors import TeslalinkError
from ._lines import exc_line
from .engine import Engine
from .events import Event
from .notify import Notifier
from .recorder import Recorder, open_recorder
from .records import CarInfo, Record
from .scheduler import Clock, RealClock, Scheduler, WorldClock
from .settings import AccountSettings, ServiceSettings, UnitSettings
from .state import AccountStatus, ServiceState
from .watch import CarJob, CarPolicy, LifetimeJob, SiteHistoryJob, SiteJob, SitePolicy, UnitJob, UnitPolicy

if TYPE_CHECKING:
    from ..cloud import CloudUrls, TeslaApi
    from ..cloud.tokens import TokenStore
    from ..cloud.watcher import CarWatcher, PollResult
    from ..wallconnector.monitor import UnitMonitor
    from .listener import Listener

__all__ = ["ACCOUNT_RETRY_MAX_S", "ACCOUNT_RETRY_MIN_S", "Service"]

_LOG = logging.getLogger("teslalink.service")

ACCOUNT_RETRY_MIN_S: Final = 30.0
ACCOUNT_RETRY_MAX_S: Final = 3600.0
"""Our choice: an account that cannot be opened is asked again after 30 s, doubling to an hour
(a refresh token that Tesla refuses will not heal by itself; the owner logs in again)."""
USAGE_EVERY_S: Final = 300.0
TICK_EVERY_S: Final = 30.0
SAVE_EVERY_S: Final = 60.0
DOWNSAMPLE_EVERY_S: Final = 86_400.0
ENGINE_STATE_FILE: Final = "engine.json"
USAGE_FILE: Final = "usage.json"
UNITS_DIR: Final = "wallconnectors"


@dataclass
class _Account:
    settings: AccountSettings
    exits: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    api: TeslaApi | None = None
    failures: int = 0
    cars: dict[str, CarWatcher] = field(default_factory=dict)  # by VIN


class Service:
    """The home service; `async with Service(...)` starts and stops it (see the module doc)."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        store: TokenStore,
        urls: CloudUrls | None = None,
        clock: Clock | None = None,
        fleet_options: Mapping[str, Any] | None = None,
        car_policy: CarPolicy | None = None,
        unit_policy: UnitPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.urls = urls
        self.clock: Clock = clock or RealClock()
        self.virtual = isinstance(self.clock, WorldClock)
        self.fleet_options = dict(fleet_options or {})
        self.car_policy = car_policy or CarPolicy()
        self.unit_policy = unit_policy or UnitPolicy()
        self.scheduler = Scheduler(self.clock)
        self.state = ServiceState(version=__version__, started_ms=self.now_ms())
        self.engine = Engine(
            settings.engine,
            settings.wallconnectors,
            self.emit,
            self.state,
            clock_ms=self.now_ms,
            on_plug_edge=self.read_car_now,
            car_policy=self.car_policy,
            unit_policy=self.unit_policy,
            site_policy=SitePolicy(live_s=settings.sites.live_s),
        )
        self.notifier = Notifier(settings.notify, clock=self.clock.now)
        self.recorder: Recorder | None = None
        self.listener: Listener | None = None
        self.accounts = [_Account(a) for a in settings.accounts]
        self.monitors: dict[str, UnitMonitor] = {}  # by unit name
        self._usage: dict[str, dict[str, dict[str, int]]] = {}  # Owner API estimate: email -> month -> counts
        self._subscribers: list[Callable[[Event], None]] = []

    def now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    # --- start and stop ----------------------------------------------------------------------------

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the recorder (a failure here is the owner's to fix: raised), restore the engine,
        start the notifier and the listener, and schedule every job."""
        data_dir = self.settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # maintain_every_s=0: downsampling is the scheduler's job here, on the service's clock
        self.recorder = await open_recorder(
            self.settings.storage, data_dir=data_dir, clock_ms=self.now_ms, maintain_every_s=0
        )
        self.state.recorder = self.recorder.status
        for unit in self.settings.wallconnectors:
            self._add_unit(unit)
        await asyncio.gather(*(self._serial_step(name) for name in self.monitors))
        saved = _read_json(data_dir / ENGINE_STATE_FILE)
        try:
            self.engine.restore(saved, await self.recorder.open_spans())
        except TeslalinkError as exc:  # not a state file of ours: start afresh, say so
            _LOG.warning("%s: %s (starting afresh)", data_dir / ENGINE_STATE_FILE, exc_line(exc))
            self.engine.restore(None, await self.recorder.open_spans())
        self._usage = _read_json(data_dir / USAGE_FILE) or {}
        await self.notifier.start()
        self.state.targets = self.notifier.targets
        if self.settings.listen.enabled:
            from .listener import start_listener  # noqa: PLC0415 - aiohttp's server only when listening

            self.listener = await start_listener(self.settings.listen, self.snapshot)
        for account in self.accounts:
            email = account.settings.email
            self.state.accounts[email] = AccountStatus(email, api=account.settings.api)
            self.scheduler.add(f"account:{email}", functools.partial(self._account_step, account))
        self.scheduler.add("engine:tick", self._tick_step)
        self.scheduler.add("service:save", self._save_step, due=self.clock.now() + SAVE_EVERY_S)
        self.scheduler.add("recorder:downsample", self._downsample_step)

    async def close(self) -> None:
        """Save the state files, deliver what the notifier can, flush the recorder, close all."""
        await self.scheduler.drain()
        with _logged("saving the service's state"):
            self._save_states()
        await self.notifier.close(timeout_s=5.0)
        if self.recorder is not None:
            await self.recorder.close()
        if self.listener is not None:
            await self.listener.close()
        for account in self.accounts:
            for car in account.cars.values():
                with _logged(f"closing {car.name}"):
                    await car.aclose()
            with _logged(f"closing account {account.settings.email}"):
                await account.exits.aclose()
        for monitor in self.monitors.values():
            with _logged(f"closing {monitor.name}"):
                await monitor.client.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Real time, until `stop` is set (SIGINT/SIGTERM in the CLI)."""
        await self.scheduler.run(stop)

    async def run_until(self, ts: float) -> None:
        """Virtual time (a frozen twin world): every job due until `ts`, in time order."""
        await self.scheduler.run_until(ts)

    def snapshot(self) -> tuple[ServiceState, int]:
        return self.state, self.now_ms()

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        """Hear every event as it is made (a screen, a benchmark's stopwatch); never raises into
        the service: a subscriber that fails is logged."""
        self._subscribers.append(callback)

    # --- what the parts call ---------------------------------------------------------------------

    def emit(self, record: Record) -> None:
        """A record from the engine: kept, and an event also told and shown."""
        if self.recorder is not None:
            self.recorder.put(record)
        if isinstance(record, Event):  # the engine has put it in the state's recent events
            self.notifier.publish(record)
            _LOG.info("%s: %s", record.device.label, record.text)
            for callback in self._subscribers:
                with _logged("an event subscriber"):
                    callback(record)

    def read_car_now(self, car: str) -> None:
        """A Wall Connector saw a plug-in: read `car` (VIN or name) now, if it is awake.

        `touch()` lets an awake car that was left to rest be read; an asleep car stays a summary
        read (it is never woken)."""
        for account in self.accounts:
            for vin, watcher in account.cars.items():
                if car.upper() == vin or car.casefold() == watcher.name.casefold():
                    watcher.touch()
                    self.scheduler.wake(f"car:{vin}")
                    return

    # --- accounts ----------------------------------------------------------------------------------

    async def _account_step(self, account: _Account) -> float:
        """Open the account and schedule its cars and sites; once open, its month's usage."""
        if account.api is None:
            try:
                await self._open(account)
            except TeslalinkError as exc:
                await account.exits.aclose()
                account.exits = contextlib.AsyncExitStack()
                account.failures += 1
                wait = min(ACCOUNT_RETRY_MAX_S, ACCOUNT_RETRY_MIN_S * 2.0 ** (account.failures - 1))
                email = account.settings.email
                status = self.state.accounts[email]
                status.error = exc_line(exc)
                _LOG.warning("account %s: %s (trying again in %.0f s)", email, status.error, wait)
                return self.clock.now() + wait
        self._usage_read(account)
        return self.clock.now() + USAGE_EVERY_S

    async def _open(self, account: _Account) -> None:
        from ..cloud.account import open_account  # noqa: PLC0415
        from ..cloud.watcher import FleetWatcher  # noqa: PLC0415

        settings = account.settings
        api = await account.exits.enter_async_context(
            open_account(self.store, settings.email, api=settings.api, urls=self.urls, **self.fleet_options)
        )
        fleet = await FleetWatcher.of(api, clock=self.clock.now)
        wanted = [name.casefold() for name in settings.cars]
        chosen = [c for c in fleet.cars if not wanted or _car_named(c, wanted)]
        missing = [n for n in settings.cars if not any(_car_named(c, [n.casefold()]) for c in fleet.cars)]
        sites = await api.energy_sites() if settings.sites else []
        account.api = api
        account.failures = 0
        status = self.state.accounts[settings.email]
        status.api = "fleet" if _is_fleet(api) else "owner"
        status.budget_usd = settings.budget_usd
        status.error = f"no car named {', '.join(missing)} in this account" if missing else None
        for car in chosen:
            vin = car.vehicle.vin
            car.may_stream = not self.virtual  # our choice: a frozen world has no live stream
            car.on_update = self.engine.car_streamed
            self.car_policy.configure(car)
            account.cars[vin] = car
            self.engine.note_car(
                CarInfo(
                    vin=vin,
                    account=settings.email,
                    name=car.name,
                    vehicle_id=getattr(car.vehicle, "vehicle_id", None),
                    id=getattr(car.vehicle, "id", None),
                )
            )
            metered = functools.partial(self.engine.metered, vin)
            job = CarJob(car, self._Tap(self, settings.email), self.clock.now, self.car_policy, metered)
            self.scheduler.add(f"car:{vin}", job)
        for site in sites:
            policy = SitePolicy(live_s=self.settings.sites.live_s)
            self.scheduler.add(
                f"site:{site.energy_site_id}",
                SiteJob(site, self._Tap(self, settings.email), self.clock.now, policy),
            )
            recorded = None if self.recorder is None else self.recorder.last_site_day
            self.scheduler.add(
                f"site-history:{site.energy_site_id}",
                SiteHistoryJob(site, self._Tap(self, settings.email), self.clock.now, recorded=recorded),
            )
        _LOG.info("account %s: watching %d car(s), %d site(s)", settings.email, len(chosen), len(sites))

    def _usage_read(self, account: _Account) -> None:
        """This month's billable calls: the Fleet API's ledger, else our own count (an estimate
        at Fleet prices of what the Owner API calls would cost)."""
        from ..cloud.fleet.ledger import MonthUsage, month_of  # noqa: PLC0415

        email = account.settings.email
        month = month_of(self.clock.now())
        ledger = getattr(account.api, "ledger", None)
        if ledger is not None:
            usage = ledger.month(email, month)
        else:
            usage = MonthUsage(email, month, dict(self._usage.get(email, {}).get(month, {})))
        self.engine.account_usage(email, usage, account.settings.budget_usd, self.clock.now())

    class _Tap:
        """The jobs' sink: forwards to the engine, counts the Owner API's billable calls."""

        def __init__(self, service: Service, email: str) -> None:
            self.service, self.email = service, email

        def _count(self, category: str, at: float) -> None:
            from ..cloud.fleet.ledger import month_of  # noqa: PLC0415

            months = self.service._usage.setdefault(self.email, {})
            counts = months.setdefault(month_of(at), {})
            counts[category] = counts.get(category, 0) + 1

        def car_polled(self, car: CarWatcher, result: PollResult, at: float) -> None:
            if result.read_data and not _is_fleet(getattr(car.vehicle, "api", None)):
                self._count("data", at)
            _LOG.debug("car %s: %s%s", car.name, result.activity.value, " (read)" if result.read_data else "")
            self.service.engine.car_polled(car, result, at)

        def unit_read(self, name: str, monitor: Any, reading: Any) -> None:
            power = None if reading.power is None else round(reading.power.total_w)
            _LOG.debug("wallconnector %s: %s", name, reading.error or f"{power} W")
            self.service.engine.unit_read(name, monitor, reading)

        def lifetime_read(self, name: str, monitor: Any, at: float) -> None:
            self.service.engine.lifetime_read(name, monitor, at)

        def site_read(self, site: Any, status: Any, error: str | None, at: float) -> None:
            if error is None and not _is_fleet(getattr(site, "api", None)):
                self._count("data", at)
            self.service.engine.site_read(site, status, error, at)

        def site_history(
            self, site: Any, day_records: Any, at: float, *, reads: int = 0, error: str | None = None
        ) -> None:
            if not _is_fleet(getattr(site, "api", None)):
                for _ in range(reads):
                    self._count("data", at)
            self.service.engine.site_history(site, day_records, at, reads=reads, error=error)

    # --- Wall Connectors --------------------------------------------------------------------------

    def _add_unit(self, unit: UnitSettings) -> None:
        from ..wallconnector import WallConnector  # noqa: PLC0415
        from ..wallconnector.monitor import UnitMonitor  # noqa: PLC0415

        state_path = self.settings.data_dir / UNITS_DIR / f"{_file_safe(unit.name)}.json"
        state_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        monitor = UnitMonitor(
            WallConnector(unit.host, service=unit.wiring),
            unit.name,
            clock=self.clock.now,
            state_path=state_path,
        )
        try:
            monitor.open_state()
        except TeslalinkError as exc:
            _LOG.warning("wallconnector %s: %s (its energy starts afresh)", unit.name, exc_line(exc))
        self.monitors[unit.name] = monitor
        tap = self._Tap(self, "")
        self.scheduler.add(
            f"unit:{unit.name}", UnitJob(unit.name, monitor, tap, self.clock.now, self.unit_policy)
        )
        self.scheduler.add(
            f"lifetime:{unit.name}", LifetimeJob(unit.name, monitor, tap, self.clock.now, self.unit_policy)
        )

    async def _serial_step(self, name: str) -> float | None:
        """The unit's serial (its /api/1/version), its stable id in the records; until a unit
        that does not answer tells it, it is known by its name (asked again every minute)."""
        monitor = self.monitors[name]
        try:
            version = await monitor.client.version()
        except TeslalinkError:
            if f"serial:{name}" not in self.scheduler:
                step = functools.partial(self._serial_step, name)
                self.scheduler.add(f"serial:{name}", step, due=self.clock.now() + 60)
            return self.clock.now() + 60
        self.engine.note_unit(name, version.serial_number)
        return None

    # --- the service's own timers ------------------------------------------------------------------

    async def _tick_step(self) -> float:
        self.engine.tick(self.now_ms())
        return self.clock.now() + TICK_EVERY_S

    async def _save_step(self) -> float:
        self._save_states()
        return self.clock.now() + SAVE_EVERY_S

    async def _downsample_step(self) -> float:
        if self.recorder is not None:
            days = self.settings.storage.downsample_after_days
            await self.recorder.downsample(self.now_ms() - int(days * 86_400_000))
        return self.clock.now() + DOWNSAMPLE_EVERY_S

    def _save_states(self) -> None:
        self.engine.flush()
        data_dir = self.settings.data_dir
        atomic_write_bytes(data_dir / ENGINE_STATE_FILE, dumps(self.engine.to_state()), mode=0o600)
        atomic_write_bytes(data_dir / USAGE_FILE, dumps(self._usage), mode=0o600)
        for monitor in self.monitors.values():
            with _logged(f"saving {monitor.name}'s state"):
                monitor.save()


def _read_json(path: Path) -> Any:
    """A state file's content, None when there is none or it cannot be read (said in the log)."""
    try:
        return loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        _LOG.warning("%s cannot be read (%s): starting afresh", path, exc_line(exc))
        return None


def _car_named(car: CarWatcher, wanted: list[str]) -> bool:
    return car.vehicle.vin.casefold() in wanted or car.name.casefold() in wanted


def _is_fleet(api: object) -> bool:
    """A Fleet API session (its ledger counts the calls); no FleetApi exists before its module loads."""
    module = sys.modules.get("teslalink.cloud.fleet.api")
    return module is not None and isinstance(api, module.FleetApi)


def _file_safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "unit"


@contextlib.contextmanager
def _logged(what: str) -> Any:
    """At stop, one part failing to close must not keep the others from closing."""
    try:
        yield
    except Exception as exc:
        _LOG.warning("%s failed: %s", what, exc_line(exc))
