"""How often the service reads each device, and the jobs that do it.

Every read has a price: a car's `vehicle_data` is billed (research/control.md 5.2: 500 reads a
dollar) and keeps an awake car awake; a Wall Connector's vitals are free and local. So the rates
follow what each reading is for (control.md 5 and 9.5, loggers.md 1.2):

* **A car** (`CarPolicy`): `CarWatcher.poll()` reads the free summary and `vehicle_data` only when
  the car is online and not resting (it never wakes one). How soon the next poll comes depends on
  what the car does: asleep, offline or resting, only the summary matters (`summary_s`); online
  and idle, one read and then rest (the watcher's `let_sleep_after_s`); charging,
  the car's figures move slowly and a Wall Connector, if it is there, meters the session for free
  (`charging_s`, `charging_metered_s`); driving, the stream carries the drive where the API offers
  one (`streamed_s` is only the check for parking), else polls (`driving_s`).
* **A Wall Connector** (`UnitPolicy`): vitals every 5 s while charging or idle, 15 s while a car
  is connected and not charging; lifetime every minute. `vehicle_connected` changing is the
  instant, free plug-in signal: the service wakes the job of the unit's car, which reads it
  only if it is awake.
* **An energy site** (`SitePolicy`): live status every five minutes (Home Assistant's minute
  would cost up to $86 a month if Tesla bills these reads, as the twin does); its history
  (`SiteHistoryPolicy`) once a day, the day just ended, one read.

The jobs (`CarJob`, `UnitJob`, `LifetimeJob`, `SiteJob`, `SiteHistoryJob`) are `Scheduler`
steps: they read, hand the reading to the service's `Sink` and say when they are next due. They
never raise for a device's trouble: that is a reading with an error, and the sink reports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from ..cloud.watcher import CarActivity
from ..errors import TeslalinkError
from . import energy_days

if TYPE_CHECKING:
    from ..cloud.energy import EnergySite, LiveStatus
    from ..cloud.watcher import CarWatcher, PollResult
    from ..wallconnector.monitor import UnitMonitor, UnitReading
    from .records import SiteEnergyDay

__all__ = [
    "CarJob",
    "CarPolicy",
    "LifetimeJob",
    "Sink",
    "SiteHistoryJob",
    "SiteHistoryPolicy",
    "SiteJob",
    "SitePolicy",
    "UnitJob",
    "UnitPolicy",
]


@dataclass(frozen=True)
class CarPolicy:
    """Seconds between a car's polls, by what it does, and the watcher's sleep guards.

    Every online read is billed (500 a dollar) and restarts the car's idle timer, and the owner's
    target is under a dollar per car-month at Fleet prices. So the service reads a car for what a
    reading is for, and no more (our choices, where no source decides):

    * `summary_s` 60: asleep, offline, resting or waiting out a check-in, only the summary (not
      billed, as the twin has it: research/control.md 10.1 leaves it open; TeslaMate knocks every
      30 s, we half as often and let a Wall Connector's edge bring a plug-in at once);
    * `let_sleep_after_s` 0: a parked, idle car is read once (the drive's end, the car's levels)
      and then left to sleep; `recheck_resting_s` 1260 reads it again if it is still awake 21
      minutes later (TeslaMate's suspend time: something keeps it up, a charge without a Wall
      Connector, climate), and `confirm_online_s` 240 waits out the hourly 2-3 minute check-ins
      of newer cars before reading one (research/loggers.md 1.2, the "fake online" guard);
    * `charging_metered_s` 1800 while a Wall Connector meters the session for free (the car's
      read adds the battery's level and its own energy count), `charging_s` 900 without one
      (evcc's 15 minute cache);
    * `driving_s` 600 without a stream: a drive's distance and energy come from the odometer and
      battery before and after, which need no more; a stream (`streamed_s` is only the check for
      parking) carries the route where the API has one.
    """

    summary_s: float = 60.0
    idle_s: float = 300.0
    charging_s: float = 900.0
    charging_metered_s: float = 1800.0
    driving_s: float = 600.0
    streamed_s: float = 60.0
    error_s: float = 120.0
    let_sleep_after_s: float = 0.0
    confirm_online_s: float = 240.0
    recheck_resting_s: float = 1260.0

    def configure(self, car: CarWatcher) -> None:
        """Give the watcher this policy's sleep guards."""
        car.let_sleep_after_s = self.let_sleep_after_s
        car.confirm_online_s = self.confirm_online_s
        car.recheck_resting_s = self.recheck_resting_s

    def interval(self, car: CarWatcher, result: PollResult, metered: bool) -> float:
        if result.error is not None:
            return self.error_s
        activity = car.activity
        if activity is CarActivity.DRIVING:
            return self.streamed_s if car.streaming else self.driving_s
        if activity is CarActivity.ONLINE and not car.confirming:
            charging = car.data is not None and car.data.charging_state in ("Charging", "Starting")
            if charging:
                return self.charging_metered_s if metered else self.charging_s
            return self.idle_s
        return self.summary_s  # asleep, offline, resting, confirming, unknown: only the summary


@dataclass(frozen=True)
class UnitPolicy:
    """Seconds between a Wall Connector's vitals reads, and lifetime's.

    research/control.md 9.5 gives one logger's 5 s charging / 15 s connected / 60 s idle. Our
    choice: idle is 5 s too, because an idle unit is read for the plug-in edge and the owner
    should hear of a plug-in within 10 s (issue 11's target); vitals are free and local, and one
    read is a few hundred bytes on the LAN.
    """

    charging_s: float = 5.0
    connected_s: float = 15.0
    idle_s: float = 5.0
    lifetime_s: float = 60.0
    error_s: float = 30.0

    def interval(self, monitor: UnitMonitor) -> float:
        vitals = monitor.vitals
        if monitor.error is not None or vitals is None:
            return self.error_s  # our choice: an unreachable unit is asked twice a minute
        if vitals.contactor_closed:
            return self.charging_s
        if vitals.vehicle_connected:
            return self.connected_s
        return self.idle_s


@dataclass(frozen=True)
class SitePolicy:
    """Our choice: live status every 5 minutes. Whether Tesla bills an energy site's reads is not
    stated (research/fleet.md 1.9); the twin bills them as data, and at Home Assistant's minute
    that would be 43,200 reads ($86) a month. Five minutes is the site history's own step."""

    live_s: float = 300.0
    error_s: float = 120.0


@dataclass(frozen=True)
class SiteHistoryPolicy:
    """When a site's daily energies are read (our choices, where no source decides):

    * `after_midnight_s` 1800: the day just ended is read at 00:30 in the site's time zone. The
      gateway reports to Tesla's cloud in batches, so the last quarter hour of a day may reach
      it minutes after midnight; half an hour lets the day be whole when it is read, and is
      still early enough for the morning's `teslalink history energy`;
    * `catch_up_days` 7: at start, the days since the last one recorded, at most the 7 before
      today (a fresh install, or a service stopped for a month, reads a week, not months: each
      read is billed as data);
    * `error_s` 3600: a read that fails is tried again an hour later (a day's totals do not
      change; one read an hour while Tesla has trouble costs little).
    """

    after_midnight_s: float = 1800.0
    catch_up_days: int = 7
    error_s: float = 3600.0


class Sink(Protocol):
    """Where the jobs' readings go: the service's engine, recorder, notifier and state."""

    def car_polled(self, car: CarWatcher, result: PollResult, at: float) -> None: ...
    def unit_read(self, name: str, monitor: UnitMonitor, reading: UnitReading) -> None: ...
    def lifetime_read(self, name: str, monitor: UnitMonitor, at: float) -> None: ...
    def site_read(
        self, site: EnergySite, status: LiveStatus | None, error: str | None, at: float
    ) -> None: ...
    def site_history(
        self,
        site: EnergySite,
        day_records: Sequence[SiteEnergyDay],
        at: float,
        *,
        reads: int = 0,
        error: str | None = None,
    ) -> None:
        """A site's days, oldest first; `reads`: the billable reads it took; `error`: one line
        when a read failed (the days before it are in `day_records`)."""
        ...


@dataclass
class CarJob:
    car: CarWatcher
    sink: Sink
    clock: Callable[[], float]
    policy: CarPolicy = field(default_factory=CarPolicy)
    metered: Callable[[], bool] = lambda: False  # a Wall Connector sees this car's session now

    async def __call__(self) -> float:
        result = await self.car.poll()
        now = self.clock()
        self.sink.car_polled(self.car, result, now)
        return now + self.policy.interval(self.car, result, self.metered())


@dataclass
class UnitJob:
    name: str
    monitor: UnitMonitor
    sink: Sink
    clock: Callable[[], float]
    policy: UnitPolicy = field(default_factory=UnitPolicy)

    async def __call__(self) -> float:
        reading = await self.monitor.read_vitals()
        self.sink.unit_read(self.name, self.monitor, reading)
        return self.clock() + self.policy.interval(self.monitor)


@dataclass
class LifetimeJob:
    """The unit's lifetime counter (the library rejects impossible jumps), once a minute."""

    name: str
    monitor: UnitMonitor
    sink: Sink
    clock: Callable[[], float]
    policy: UnitPolicy = field(default_factory=UnitPolicy)

    async def __call__(self) -> float:
        await self.monitor.read_lifetime()
        now = self.clock()
        self.sink.lifetime_read(self.name, self.monitor, now)
        return now + self.policy.lifetime_s


@dataclass
class SiteJob:
    site: EnergySite
    sink: Sink
    clock: Callable[[], float]
    policy: SitePolicy = field(default_factory=SitePolicy)

    async def __call__(self) -> float:
        try:
            status = await self.site.live_status()
        except TeslalinkError as exc:
            now = self.clock()
            self.sink.site_read(self.site, None, " ".join(str(exc).split()), now)
            return now + self.policy.error_s
        now = self.clock()
        self.sink.site_read(self.site, status, None, now)
        return now + self.policy.live_s


@dataclass
class SiteHistoryJob:
    """A site's daily energies (`calendar_history` kind `energy`, period day), one read a day.

    Its first run reads site_info once (the site's time zone, in which its days are counted, and
    its installation date: no day before it is asked for) and asks `recorded` for the newest day
    the recorder holds; then it reads every whole day after that one, at most `catch_up_days`,
    oldest first, one read each. Each following run,
    at 00:30 site time, reads the day just ended. A day the answer has no entry for (before the
    site had data) is read once and not recorded. A site whose site_info names no zone this
    machine knows has its days asked in UTC (our choice); an answer labelled on another date
    than the one asked is then not recorded (see `energy_days`).
    """

    site: EnergySite
    sink: Sink
    clock: Callable[[], float]
    policy: SiteHistoryPolicy = field(default_factory=SiteHistoryPolicy)
    recorded: Callable[[str], Awaitable[SiteEnergyDay | None]] | None = None
    zone: ZoneInfo | None = None
    installed: dt.date | None = None  # site_info's installation_date, in the site's zone
    done: dt.date | None = None  # the newest day read (recorded, or found without data)
    _started: bool = field(default=False, repr=False)

    @property
    def site_id(self) -> str:
        return str(self.site.energy_site_id)

    def newest_whole_day(self, t: float, zone: ZoneInfo) -> dt.date:
        """The newest day that has ended at least `after_midnight_s` before `t`."""
        return energy_days.local_date(t - self.policy.after_midnight_s, zone) - dt.timedelta(days=1)

    async def __call__(self) -> float:
        found: list[SiteEnergyDay] = []
        reads = 0
        try:
            if self.zone is None:
                info = await self.site.site_info()
                reads += 1
                self.zone = energy_days.zone_named(info.time_zone) or energy_days.UTC
                self.installed = energy_days.date_of(info.installation_date, self.zone)
            zone = self.zone
            if not self._started:
                kept = None if self.recorded is None else await self.recorded(self.site_id)
                self._started = True
                if kept is not None:
                    self.done = dt.date.fromisoformat(kept.day)
                    found.append(kept)  # shown in /status; the recorder's upsert keeps one row
            newest = self.newest_whole_day(self.clock(), zone)
            day = newest - dt.timedelta(days=max(1, self.policy.catch_up_days) - 1)
            if self.done is not None:
                day = max(day, self.done + dt.timedelta(days=1))
            if self.installed is not None:  # no read for a day before the site was installed
                day = max(day, self.installed)
            while day <= newest:
                answer = await self.site.calendar_history(
                    "energy", "day", end_date=energy_days.day_end(day, zone), time_zone=zone.key
                )
                reads += 1
                record = energy_days.energy_day(self.site_id, day, answer, self.site.site_name)
                if record is not None:
                    found.append(record)
                self.done = day
                day += dt.timedelta(days=1)
        except TeslalinkError as exc:
            now = self.clock()
            self.sink.site_history(self.site, found, now, reads=reads, error=" ".join(str(exc).split()))
            return now + self.policy.error_s
        now = self.clock()
        if found or reads:
            self.sink.site_history(self.site, found, now, reads=reads)
        following = energy_days.day_start(newest + dt.timedelta(days=2), zone) + self.policy.after_midnight_s
        return max(following, now + 60.0)  # the next day whole; never at once again (a guard)
