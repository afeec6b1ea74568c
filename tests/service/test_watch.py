"""The service's read rates against the twin, in virtual time: what each job reads, and when.

The world is frozen and moved by the scheduler (`run_until`), so hours of world time take no real
time and the twin's own accounting says what was billed and whether a car was woken.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from teslalink.cloud import CloudUrls, StaticToken, TeslaApi
from teslalink.cloud.watcher import CarActivity, CarWatcher, FleetWatcher, PollResult
from teslalink.service.scheduler import Scheduler, WorldClock
from teslalink.service.watch import CarJob, CarPolicy, LifetimeJob, UnitJob, UnitPolicy
from teslalink.simulator import World, serve_cloud
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.scenario import plug_in, unplug
from teslalink.simulator.vehicle.car import Car
from teslalink.wallconnector import WallConnector
from teslalink.wallconnector.monitor import UnitMonitor, UnitReading

EMAIL = "watch@teslalink.test"
START = 1_750_000_000.0


@dataclass
class Seen:
    """A sink that keeps what the jobs handed it, with the world time of each."""

    polls: list[tuple[float, CarActivity, bool]] = field(default_factory=list)
    units: list[tuple[float, bool | None, bool | None]] = field(default_factory=list)
    lifetimes: list[float] = field(default_factory=list)

    def car_polled(self, car: CarWatcher, result: PollResult, at: float) -> None:
        self.polls.append((at - START, result.activity, result.read_data))

    def unit_read(self, name: str, monitor: UnitMonitor, reading: UnitReading) -> None:
        vitals = reading.vitals
        self.units.append(
            (reading.ts - START, None if vitals is None else vitals.vehicle_connected,
             None if vitals is None else vitals.contactor_closed)
        )  # fmt: skip

    def lifetime_read(self, name: str, monitor: UnitMonitor, at: float) -> None:
        self.lifetimes.append(at - START)

    def site_read(self, site: Any, status: Any, error: str | None, at: float) -> None:
        raise AssertionError("no site in these tests")

    def site_history(self, site: Any, day_records: Any, at: float, **_: Any) -> None:
        raise AssertionError("no site in these tests")


@dataclass
class Env:
    world: World
    api: TeslaApi
    car: Car
    unit_url: str
    scheduler: Scheduler
    seen: Seen

    def billed(self, category: BillingCategory) -> int:
        return int(self.world.accounting.by_vehicle.get(self.car.id, {}).get(category, 0))

    async def watcher(self) -> CarWatcher:
        fleet = await FleetWatcher.of(self.api, clock=self.world.now)
        (car,) = fleet.cars
        return car


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=5, speed=0.0, start=START)
    account = world.add_account(EMAIL, "pw-watch")
    car = world.add_vehicle(account, display_name="Sleeper", asleep=True, battery_level=40.0)
    world.add_wall_connector()
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(world.account(EMAIL))["access_token"]
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        api = TeslaApi(urls, StaticToken(token))
        try:
            yield Env(world, api, car, cloud.wall_connectors[0].url, Scheduler(WorldClock(world)), Seen())
        finally:
            await api.close()


async def test_an_asleep_car_is_only_asked_its_summary_and_never_woken(env: Env) -> None:
    watcher = await env.watcher()
    policy = CarPolicy()
    env.scheduler.add("car", CarJob(watcher, env.seen, env.world.now, policy))
    await env.scheduler.run_until(START + 1800)  # before the car's own hourly check-in (the twin's)
    assert len(env.seen.polls) == 1800 / policy.summary_s + 1
    assert {activity for _, activity, _ in env.seen.polls} == {CarActivity.ASLEEP}
    assert not any(read for _, _, read in env.seen.polls)  # no vehicle_data: summaries only
    assert env.billed(BillingCategory.DATA) == len(env.seen.polls)  # the Owner API twin bills those
    assert env.billed(BillingCategory.WAKE) == 0
    assert env.car.wake_count == 0
    assert env.car.state == "asleep"


async def test_a_unit_is_read_faster_when_a_car_is_connected_and_faster_still_while_it_charges(
    env: Env,
) -> None:
    policy = UnitPolicy()
    monitor = UnitMonitor(WallConnector(env.unit_url), "Garage", clock=env.world.now)
    env.scheduler.add("unit", UnitJob("Garage", monitor, env.seen, env.world.now, policy))
    env.scheduler.add("lifetime", LifetimeJob("Garage", monitor, env.seen, env.world.now, policy))
    await env.scheduler.run_until(START + 300)
    idle_gaps = {b[0] - a[0] for a, b in itertools.pairwise(env.seen.units)}
    assert idle_gaps == {policy.idle_s}
    plug_in(env.world, env.car.vin, env.world.wall_connectors[0].serial)
    await env.scheduler.run_until(START + 1800)
    after = [u for u in env.seen.units if u[0] > 300]
    charging = [t for t, connected, closed in after if connected and closed]
    assert len(charging) >= 2
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(charging)}
    assert gaps == {policy.charging_s}
    assert env.seen.lifetimes[:3] == [0.0, 60.0, 120.0]
    unplug(env.world, env.car.vin)
    await env.scheduler.run_until(START + 2000)
    assert env.seen.units[-1][1] is False
