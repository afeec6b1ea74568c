"""An energy site's daily energies: `SiteHistoryJob` against the twin in virtual time, into a real
`Engine` (and, for a restart, a real SQLite recorder).

The twin's own ledger (simulator/site/history.py: the energy flows it integrated, summed per
local day) is the truth each day's record is held to; its accounting counts every billed read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from teslalink.cloud import CloudUrls, TeslaApi
from teslalink.cloud.auth import Auth
from teslalink.cloud.energy import EnergySite
from teslalink.cloud.tokens import MemoryTokenStore
from teslalink.service.engine import Engine
from teslalink.service.recorder import open_recorder
from teslalink.service.records import Record, SiteEnergyDay
from teslalink.service.scheduler import Scheduler, WorldClock
from teslalink.service.settings import EngineSettings, StorageSettings
from teslalink.service.state import Health, ServiceState
from teslalink.service.watch import SiteHistoryJob
from teslalink.simulator import World, serve_cloud
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.faults import Faults
from teslalink.simulator.site import history as twin_history
from teslalink.simulator.site.energy_site import EnergySite as TwinSite
from teslalink.transport import NO_RETRY

from .harness import EMAIL, START

LA = ZoneInfo("America/Los_Angeles")  # the twin site's default zone; START is 2025-06-15 08:06 there
DAY_S = 86_400.0
PASSWORD = "pw-site"


def at_la(day: str, hour: int, minute: int = 0) -> float:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=LA).timestamp()


def truth(site: TwinSite, day: str) -> dict[str, float]:
    """The twin's own totals of local day `day` (Wh), from its ledger's ten flows."""
    number = site.env.local_day(at_la(day, 12))
    v = site.ledger.day_total(number)
    h = twin_history
    return {
        "solar_wh": v[h.SOLAR],
        "home_wh": v[h.HOME_GRID] + v[h.HOME_SOLAR] + v[h.HOME_BATTERY],
        "grid_import_wh": v[h.GRID_IN],
        "grid_export_wh": v[h.GRID_OUT_SOLAR] + v[h.GRID_OUT_BATTERY],
        "battery_charge_wh": v[h.BATTERY_IN_GRID] + v[h.BATTERY_IN_SOLAR],
        "battery_discharge_wh": v[h.BATTERY_OUT],
    }


@dataclass
class Call:
    at: float
    days: list[SiteEnergyDay]
    reads: int
    error: str | None


@dataclass
class Calls:
    """The job's sink: each call kept (with its world time), then handed to the real engine."""

    engine: Engine
    seen: list[Call] = field(default_factory=list)

    def car_polled(self, *args: Any) -> None:
        raise AssertionError("no car here")

    def unit_read(self, *args: Any) -> None:
        raise AssertionError("no unit here")

    def lifetime_read(self, *args: Any) -> None:
        raise AssertionError("no unit here")

    def site_read(self, *args: Any) -> None:
        raise AssertionError("no live status in these tests")

    def site_history(
        self,
        site: EnergySite,
        day_records: Sequence[SiteEnergyDay],
        at: float,
        *,
        reads: int = 0,
        error: str | None = None,
    ) -> None:
        self.seen.append(Call(at, list(day_records), reads, error))
        self.engine.site_history(site, day_records, at, reads=reads, error=error)


@dataclass
class Home:
    world: World
    twin: TwinSite
    site: EnergySite
    faults: Faults
    state: ServiceState
    engine: Engine
    calls: Calls
    records: list[Record]
    scheduler: Scheduler
    also: list[Callable[[Record], None]]  # where the engine's records go besides `records`

    def job(self, **options: Any) -> SiteHistoryJob:
        job = SiteHistoryJob(self.site, self.calls, self.world.now, **options)
        self.scheduler.add("history", job)
        return job

    def billed(self) -> int:
        return int(self.world.accounting.totals.get(BillingCategory.DATA, 0))

    def days(self) -> list[SiteEnergyDay]:
        return [r for r in self.records if isinstance(r, SiteEnergyDay)]


async def home_of(world: World, twin: TwinSite, faults: Faults) -> AsyncIterator[Home]:
    records: list[Record] = []
    also: list[Callable[[Record], None]] = []

    def emit(record: Record) -> None:
        records.append(record)
        for put in also:
            put(record)

    state = ServiceState("test", 0)
    engine = Engine(EngineSettings(), [], emit, state, clock_ms=lambda: int(world.now() * 1000))
    async with serve_cloud(world, faults=faults) as cloud:
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"])
        auth = Auth(EMAIL, urls=urls, store=MemoryTokenStore(), clock=world.now)  # days: tokens renewed
        await auth.login_headless(PASSWORD)
        api = TeslaApi(urls, auth, retry=NO_RETRY)
        try:
            (site,) = await api.energy_sites()
            scheduler = Scheduler(WorldClock(world))
            yield Home(world, twin, site, faults, state, engine, Calls(engine), records, scheduler, also)
        finally:
            await api.close()
            await auth.close()


@pytest.fixture
async def home() -> AsyncIterator[Home]:
    """A Powerwall site installed at START (its first day of data is 2025-06-15)."""
    world = World(seed=3, speed=0.0, start=START)
    twin = world.add_energy_site(world.add_account(EMAIL, PASSWORD), site_name="Home", powerwalls=1)
    async for found in home_of(world, twin, Faults()):
        yield found


@pytest.fixture
async def old_home() -> AsyncIterator[Home]:
    """A site installed in 2024 whose records (in the twin) began at START, ten days before the
    service first starts."""
    world = World(seed=4, speed=0.0, start=START)
    account = world.add_account(EMAIL, PASSWORD)
    twin = world.add_energy_site(account, site_name="Home", installation_date="2024-03-01T10:00:00-08:00")
    world.advance(10 * DAY_S)
    async for found in home_of(world, twin, Faults()):
        yield found


async def test_each_day_is_read_once_at_half_past_midnight_and_agrees_with_the_twin(home: Home) -> None:
    home.job()
    await home.scheduler.run_until(at_la("2025-06-18", 1))

    assert [c.at for c in home.calls.seen] == [
        START,  # site_info only: no whole day since the site was installed
        at_la("2025-06-16", 0, 30),
        at_la("2025-06-17", 0, 30),
        at_la("2025-06-18", 0, 30),
    ]
    assert [c.reads for c in home.calls.seen] == [1, 1, 1, 1]
    assert home.billed() == 4  # site_info, then one calendar_history a day
    days = home.days()
    assert [d.day for d in days] == ["2025-06-15", "2025-06-16", "2025-06-17"]
    for record in days:
        assert record.site_id == str(home.twin.energy_site_id)
        expected = truth(home.twin, record.day)
        for name, value in expected.items():
            assert getattr(record, name) == pytest.approx(value, abs=0.01), (record.day, name)
    whole = days[1]  # a whole June day: the panels and the home both did something
    assert whole.solar_wh is not None
    assert whole.solar_wh > 10_000
    assert whole.home_wh is not None
    assert whole.home_wh > 5_000
    (status,) = home.state.devices.values()
    assert status.reading["day"] == "2025-06-17"
    assert status.reading["day_solar_wh"] == pytest.approx(days[-1].solar_wh, abs=0.1)
    assert status.error is None
    assert home.scheduler.job("history").due == at_la("2025-06-19", 0, 30)
    assert home.engine.failures == 0


async def test_the_first_run_catches_up_at_most_a_week_and_a_restart_goes_on_from_the_database(
    old_home: Home, tmp_path: Path
) -> None:
    home = old_home
    recorder = await open_recorder(
        StorageSettings(), data_dir=tmp_path, clock_ms=lambda: int(home.world.now() * 1000)
    )
    try:
        home.also.append(recorder.put)
        job = home.job(recorded=recorder.last_site_day)
        await home.scheduler.run_until(home.world.now())  # the first run, 2025-06-25 08:06
        (first,) = home.calls.seen
        assert first.error is None
        # ten days of data in the twin, seven read: the week before today, one read each
        assert [d.day for d in first.days] == [f"2025-06-{n}" for n in range(18, 25)]
        assert first.reads == 1 + 7
        assert home.billed() == 8
        for record in first.days:
            assert record.solar_wh == pytest.approx(truth(home.twin, record.day)["solar_wh"], abs=0.01)
        await recorder.flush()
        assert (await recorder.last_site_day(job.site_id)) == first.days[-1]

        # A restart two days later: it asks the database, then reads only the two days since.
        home.world.advance(2 * DAY_S)
        home.scheduler = Scheduler(WorldClock(home.world))
        home.calls.seen.clear()
        home.job(recorded=recorder.last_site_day)
        await home.scheduler.run_until(home.world.now())
        (again,) = home.calls.seen
        assert [d.day for d in again.days] == ["2025-06-24", "2025-06-25", "2025-06-26"]  # the kept one first
        assert again.reads == 1 + 2
        assert home.billed() == 8 + 3
        await recorder.flush()
        kept = await recorder.site_energy_days()
        assert [d.day for d in kept] == [f"2025-06-{n}" for n in range(18, 27)]  # one row per day
    finally:
        await recorder.close()


async def test_a_failed_read_is_one_line_in_status_and_tried_again_an_hour_later(home: Home) -> None:
    home.job()
    await home.scheduler.run_until(at_la("2025-06-16", 0, 20))
    home.faults.set("owner_api", "5xx=1")  # Tesla's cloud fails every request
    await home.scheduler.run_until(at_la("2025-06-16", 1))

    failed = home.calls.seen[-1]
    assert failed.at == at_la("2025-06-16", 0, 30)
    assert failed.days == []
    assert failed.reads == 0
    assert failed.error is not None
    assert "\n" not in failed.error
    (status,) = home.state.devices.values()
    assert status.error is not None
    assert status.error.startswith("energy history: ")
    assert home.state.health is Health.DEGRADED
    assert home.scheduler.job("history").due == at_la("2025-06-16", 1, 30)
    assert home.days() == []
    assert home.world.accounting.unbilled == 1  # a 5xx is not billed

    home.faults.set("owner_api", "")
    await home.scheduler.run_until(at_la("2025-06-16", 2))
    retried = home.calls.seen[-1]
    assert retried.at == at_la("2025-06-16", 1, 30)
    assert [d.day for d in retried.days] == ["2025-06-15"]
    assert retried.error is None
    assert status.error is None
    assert home.state.health is Health.OK
    assert home.scheduler.job("history").failures == 0  # never raised into the scheduler
    assert home.scheduler.job("history").due == at_la("2025-06-17", 0, 30)
