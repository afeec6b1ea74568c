"""`teslalink serve` as a whole against one owner's home in the twin, in virtual time.

`service.home_twin` serves a frozen world (a Model 3 on the Fleet API, a Wall Connector in the
garage, a Powerwall); the service's own scheduler moves its clock (`WorldClock`), so a day of
world time runs in seconds and the twin's ground truth (its cars' trips, the unit's session
energy, its billing and the cars' wake counts) says whether the service saw what happened,
recorded it and let the car sleep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from notify.notify_receiver import Receiver

from teslalink.cloud.vehicle_data import KM_PER_MILE
from teslalink.service.events import Event, EventKind
from teslalink.service.home_twin import WEEK_START, HomeTwin, serve_home
from teslalink.service.recorder import open_recorder
from teslalink.service.records import ChargeSource
from teslalink.service.runner import Service
from teslalink.service.scheduler import WorldClock
from teslalink.service.settings import AccountSettings, NotifySettings, ServiceSettings, TargetSettings
from teslalink.simulator import scenario
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.week import DAY_S, owner_week, play

HOUR = 3600.0


@dataclass
class Home:
    twin: HomeTwin
    settings: ServiceSettings
    events: list[Event] = field(default_factory=list)

    def service(self) -> Service:
        service = Service(
            self.settings,
            store=self.twin.store,
            clock=WorldClock(self.twin.world),
            fleet_options=self.twin.fleet_options,
        )
        service.subscribe(self.events.append)
        return service

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]

    def at(self, kind: EventKind) -> list[float]:
        return [e.at_ms / 1000 for e in self.events if e.kind is kind]

    def billed(self, category: BillingCategory) -> int:
        counts = self.twin.world.accounting.by_vehicle.get(self.twin.car.id)
        return 0 if counts is None else int(counts.get(category, 0))


@pytest.fixture
async def home(tmp_path: Path) -> AsyncIterator[Home]:
    """The car asleep when the service starts."""
    async with serve_home(tmp_path) as twin:
        yield Home(twin, twin.settings())


@pytest.fixture
async def awake_home(tmp_path: Path) -> AsyncIterator[Home]:
    """The car online and parked when the service starts: the usual first day of a service."""
    async with serve_home(tmp_path, asleep=False) as twin:
        yield Home(twin, twin.settings())


async def test_a_workday_is_seen_recorded_and_costs_no_wake(awake_home: Home) -> None:
    """Monday: the commute, the drive home, the evening charge on the Wall Connector, Tuesday's
    unplug; the car sleeps in between."""
    home = awake_home
    twin = home.twin
    plugs: list[float] = []
    end = WEEK_START + DAY_S + 7.4 * HOUR  # after the unplug at 07:20, before the 07:30 commute
    async with home.service() as service:
        await play(
            twin.world,
            twin.car.id,
            owner_week(2),
            service.run_until,
            start=WEEK_START,
            end=end,
            on_step=lambda step, ts: plugs.append(ts) if step.action == "plug_in" else None,
        )
    assert twin.car.wake_reasons.get("wake_up", 0) == 0
    assert home.billed(BillingCategory.WAKE) == 0
    (plugged_at,) = plugs
    (seen,) = home.at(EventKind.PLUGGED_IN)
    assert 0 <= seen - plugged_at <= 10  # the Wall Connector's edge
    assert home.kinds().count(EventKind.CHARGING_STARTED.value) == 1
    assert home.kinds().count(EventKind.UNPLUGGED.value) == 1
    assert home.kinds().count(EventKind.DRIVE_ENDED.value) == 2

    reader = await open_recorder(home.settings.storage, data_dir=home.settings.data_dir, clock_ms=lambda: 0)
    try:
        (charge,) = await reader.charges()
        drives = await reader.drives()
        sessions = await reader.sessions()
    finally:
        await reader.close()
    truth = scenario.unit_truth(twin.world, twin.unit.serial)
    assert charge.source is ChargeSource.BOTH
    assert charge.end_ms is not None
    assert charge.energy_grid_wh is not None
    assert abs(charge.energy_grid_wh - truth["session_energy_wh"]) <= 0.02 * truth["session_energy_wh"]
    (session,) = sessions
    assert session.vin == twin.car.vin
    assert len(drives) == 2
    for drive, trip in zip(drives, twin.car.trips, strict=True):
        assert drive.distance_km is not None
        truth_km = trip.distance_mi * KM_PER_MILE
        assert abs(drive.distance_km - truth_km) <= 0.02 * truth_km
        assert drive.end_ms is not None
        # From sleep: begun when the car woke (seen within a summary poll), not when first read
        # after the check-in wait; ended by the first poll parked (a driving poll at most).
        assert 0 <= drive.start_ms / 1000 - trip.start <= 60
        assert 0 <= drive.end_ms / 1000 - trip.end <= 600


async def test_a_car_that_sleeps_all_day_is_never_woken_nor_read(home: Home) -> None:
    twin = home.twin
    async with home.service() as service:
        await service.run_until(WEEK_START + DAY_S)
    assert twin.car.wake_reasons.get("periodic", 0) >= 20  # it checked in by itself, hourly
    assert twin.car.wake_reasons.get("wake_up", 0) == 0
    assert home.billed(BillingCategory.WAKE) == 0
    assert home.billed(BillingCategory.DATA) == 0  # its check-ins waited out: never read
    assert twin.car.awake_seconds < 24 * 200  # the check-ins alone, none stretched by a read


async def test_a_restart_in_the_middle_of_a_charge_continues_the_same_session(home: Home) -> None:
    twin = home.twin
    async with home.service() as service:
        await service.run_until(WEEK_START + 60)
        scenario.plug_in(twin.world, twin.car.id, twin.unit.serial)
        await service.run_until(WEEK_START + 1800)
    assert home.kinds().count(EventKind.CHARGING_STARTED.value) == 1
    async with home.service() as service:  # the same data dir: state files and database
        start = twin.world.now()
        while twin.car.charging_state != "Complete" and twin.world.now() < start + 6 * HOUR:
            await service.run_until(twin.world.now() + 600)
        await service.run_until(twin.world.now() + 600)
        scenario.unplug(twin.world, twin.car.id)
        await service.run_until(twin.world.now() + 900)
    assert twin.car.charging_state != "Charging"
    assert home.kinds().count(EventKind.PLUGGED_IN.value) == 1
    assert home.kinds().count(EventKind.CHARGING_STARTED.value) == 1
    assert home.kinds().count(EventKind.CHARGE_COMPLETE.value) == 1
    reader = await open_recorder(home.settings.storage, data_dir=home.settings.data_dir, clock_ms=lambda: 0)
    try:
        (charge,) = await reader.charges()
        (session,) = await reader.sessions()
    finally:
        await reader.close()
    truth = scenario.unit_truth(twin.world, twin.unit.serial)
    assert charge.end_ms is not None
    assert session.energy_wh is not None
    assert abs(session.energy_wh - truth["session_energy_wh"]) <= 0.02 * truth["session_energy_wh"]


async def test_a_drive_first_seen_in_gear_has_no_distance_rather_than_a_short_one(home: Home) -> None:
    """The car slept since before the service started: nothing says where the drive began."""
    twin = home.twin
    async with home.service() as service:
        await service.run_until(WEEK_START + 7.5 * HOUR)
        scenario.drive(twin.world, twin.car.id, route="commute", speed_kph=60.0)
        await service.run_until(WEEK_START + 9 * HOUR)
    reader = await open_recorder(home.settings.storage, data_dir=home.settings.data_dir, clock_ms=lambda: 0)
    try:
        (drive,) = await reader.drives()
    finally:
        await reader.close()
    (trip,) = twin.car.trips
    assert drive.end_ms is not None
    assert drive.start_odometer_km is None
    assert drive.distance_km is None
    assert 0 <= drive.start_ms / 1000 - trip.start <= 60


async def test_events_reach_a_webhook_while_an_account_without_a_login_is_one_line(tmp_path: Path) -> None:
    """A second account has no login: its status says so in one line and is retried later; the
    rest runs, and the garage's plug-in is delivered to a local webhook receiver."""
    async with serve_home(tmp_path) as twin, Receiver() as receiver:
        settings = twin.settings(
            accounts=(
                AccountSettings(twin.email, api="fleet"),
                AccountSettings("nobody@teslalink.test", api="fleet"),
            ),
            notify=NotifySettings(targets=(TargetSettings("webhook", receiver.url("/hook")),)),
        )
        home = Home(twin, settings)
        async with home.service() as service:
            await service.run_until(WEEK_START + 60)
            scenario.plug_in(twin.world, twin.car.id, twin.unit.serial)
            await service.run_until(WEEK_START + 600)
            state = service.state
            problems = state.problems()
            account_job = service.scheduler.job("account:nobody@teslalink.test")
        assert state.accounts[twin.email].error is None
        missing = state.accounts["nobody@teslalink.test"].error
        assert missing is not None
        assert "\n" not in missing
        assert "fleet login" in missing
        assert [p for p in problems if p.startswith("account ")] == [
            f"account nobody@teslalink.test: {missing}"
        ]
        assert account_job.runs >= 2  # tried again, with a growing wait
        assert account_job.due > WEEK_START + 600
        delivered = [r.json()["event"] for r in receiver.at("/hook")]
        plugged = [e for e in delivered if e["kind"] == "plugged_in"]
        assert len(plugged) == 1
        assert plugged[0]["device"]["id"] == twin.car.vin
