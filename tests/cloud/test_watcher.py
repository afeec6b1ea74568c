"""The sleep-friendly car watcher against the twin, without the CLI: what it reads, when it streams.

The world's clock is frozen (speed 0) and moved by the tests, and it is the watcher's clock, so
"40 idle minutes" are 40 world minutes that take no real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from conftest import eventually
from teslalink.cloud import CloudUrls, StaticToken, TeslaApi, VehicleStream
from teslalink.cloud.watcher import CarActivity, CarWatcher, FleetWatcher, StreamPolicy
from teslalink.errors import ConfigError
from teslalink.simulator import World, serve_cloud
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.vehicle.car import Car

EMAIL = "watcher@teslalink.test"


@dataclass
class Env:
    world: World
    api: TeslaApi
    cars: dict[str, Car]

    def data_reads(self, name: str) -> int:
        by_vehicle = self.world.accounting.by_vehicle.get(self.cars[name].id, {})
        return int(by_vehicle.get(BillingCategory.DATA, 0))

    async def watcher(self, name: str, **settings: object) -> CarWatcher:
        fleet = await FleetWatcher.of(self.api, name, clock=self.world.now, **settings)  # type: ignore[arg-type]
        (car,) = fleet.cars
        return car


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=31, speed=0.0, start=1_750_000_000)
    account = world.add_account(EMAIL, "pw-watch")
    cars = {
        "Idle": world.add_vehicle(account, display_name="Idle"),
        "Sleeper": world.add_vehicle(account, display_name="Sleeper", asleep=True),
        "Driver": world.add_vehicle(account, display_name="Driver", battery_level=80.0),
    }
    world.advance(30)
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(world.account(EMAIL))["access_token"]
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        api = TeslaApi(urls, StaticToken(token))
        try:
            yield Env(world, api, cars)
        finally:
            await api.close()


async def watch_minutes(env: Env, car: CarWatcher, minutes: int) -> list[bool]:
    """Poll once a world minute for `minutes`; whether each poll read vehicle_data."""
    reads = []
    for _ in range(minutes):
        reads.append((await car.poll()).read_data)
        env.world.advance(60)
    return reads


async def test_an_idle_car_watched_for_40_minutes_falls_asleep_with_no_wake_up(env: Env) -> None:
    car = await env.watcher("Idle", let_sleep_after_s=600.0)
    changes: list[tuple[CarActivity, CarActivity]] = []
    reads = []
    for _ in range(41):  # a poll a world minute, 0..40 min
        result = await car.poll()
        reads.append(result.read_data)
        if result.changed:
            changes.append((result.previous, result.activity))
        env.world.advance(60)
    assert changes == [
        (CarActivity.ONLINE, CarActivity.RESTING),  # after ten idle minutes
        (CarActivity.RESTING, CarActivity.ASLEEP),  # then it slept, untouched
    ]
    idle = env.cars["Idle"]
    assert idle.wake_count == 0
    assert idle.is_online is False
    assert car.state == "asleep"
    assert car.activity is CarActivity.ASLEEP
    assert car.resting is True
    # Read while idle for ten minutes (11 reads: at 0..10 min), then only its summary.
    assert reads[:11] == [True] * 11
    assert not any(reads[11:])
    assert len(reads) == 41
    assert env.data_reads("Idle") == 41 + 11  # the twin bills summaries as data too: 41 polls, 11 reads
    assert car.data is not None  # the last data is kept


async def test_a_car_read_every_minute_is_kept_awake(env: Env) -> None:
    car = await env.watcher("Idle", let_sleep_after_s=float("inf"))
    reads = await watch_minutes(env, car, 40)
    assert all(reads)
    assert env.cars["Idle"].is_online is True
    assert car.activity is CarActivity.ONLINE


async def test_an_asleep_car_is_never_read_nor_woken(env: Env) -> None:
    car = await env.watcher("Sleeper")
    reads = await watch_minutes(env, car, 10)
    assert not any(reads)
    assert env.cars["Sleeper"].wake_count == 0
    assert car.activity is CarActivity.ASLEEP
    assert car.data is None
    assert env.data_reads("Sleeper") == 10  # its summaries only


async def test_a_resting_car_woken_by_other_means_is_read_again(env: Env) -> None:
    car = await env.watcher("Idle", let_sleep_after_s=0.0)
    first = await car.poll()
    assert first.read_data
    assert first.began_resting
    assert car.activity is CarActivity.RESTING
    assert not (await car.poll()).read_data  # resting: the summary only
    env.world.advance(16 * 60)  # falls asleep untouched
    await car.poll()
    assert car.state == "asleep"
    env.cars["Idle"].wake_up()  # the owner's phone wakes it
    env.world.advance(60)
    car.let_sleep_after_s = 3600.0
    woke = await car.poll()
    assert woke.woke
    assert woke.read_data
    assert car.resting is False
    assert env.cars["Idle"].wake_count == 1  # the phone's, not ours


async def test_touch_reads_a_resting_car_again(env: Env) -> None:
    car = await env.watcher("Idle", let_sleep_after_s=0.0)
    await car.poll()
    assert car.resting
    car.touch()
    assert (await car.poll()).read_data


async def test_a_driving_car_streams_and_the_stream_ends_when_it_parks(env: Env) -> None:
    env.cars["Driver"].drive("loop_10km", speed_kph=50.0)
    env.world.advance(30)
    car = await env.watcher("Driver")
    try:
        await car.poll()
        assert car.activity is CarActivity.DRIVING
        assert car.wants_stream
        stream = car.stream
        assert isinstance(stream, VehicleStream)
        await eventually(lambda: car.live is not None, lambda: env.world.advance(1.0))
        figures = car.drive()
        assert figures is not None
        assert figures.streamed
        assert figures.shift_state == "D"
        env.cars["Driver"].park()
        await eventually(lambda: car.stream is None, lambda: env.world.advance(1.0))  # the P update ended it
        assert car.live is not None
        assert car.live.shift_state == "P"
        await car.poll()
        assert car.stream is None  # parked: polling only
        assert not car.wants_stream
        assert car.activity is CarActivity.ONLINE
    finally:
        await car.aclose()


async def test_a_failing_stream_falls_back_to_polling_and_waits_before_trying_again(env: Env) -> None:
    env.cars["Driver"].drive("loop_10km", speed_kph=50.0)
    env.world.advance(30)
    failures: list[str] = []
    car = await env.watcher("Driver", stream_policy=StreamPolicy(max_failures=1, backoff_initial_s=0.01))
    car.on_stream_failure = lambda _car, message: failures.append(message)
    # a streaming host that refuses every connection (nothing listens on port 9 of loopback)
    car.vehicle.api.urls = CloudUrls(api=env.api.urls.api, streaming="ws://127.0.0.1:9/streaming/")
    try:
        await car.poll()
        assert car.stream is not None
        await eventually(lambda: car.stream is None)
        assert failures
        assert car.stream_error == failures[0]
        assert (await car.poll()).read_data  # polled as before
        assert car.stream is None  # not retried within retry_after_s
        assert car.activity is CarActivity.DRIVING
    finally:
        await car.aclose()


async def test_a_fleet_polls_every_car_and_finds_one_by_name(env: Env) -> None:
    fleet = await FleetWatcher.of(env.api, clock=env.world.now)
    results = await fleet.poll()
    assert [car.name for car in fleet.cars] == ["Idle", "Sleeper", "Driver"]
    assert [r.read_data for r in results] == [True, False, True]
    assert fleet.car("sleeper") is fleet.cars[1]
    with pytest.raises(ConfigError, match="no car 'Nobody'"):
        fleet.car("Nobody")
    await fleet.aclose()


async def test_hourly_check_ins_are_waited_out_not_read(env: Env) -> None:
    """A newer car wakes by itself for 2-3 minutes every hour; read then, it would stay awake
    its whole idle time. With `confirm_online_s` the watcher waits them out."""
    car = await env.watcher("Sleeper")
    car.confirm_online_s = 240.0
    seen_online = 0
    for _ in range(3 * 60):  # three hours, a poll a world minute
        result = await car.poll()
        assert not result.read_data
        seen_online += car.state == "online"
        env.world.advance(60)
    sleeper = env.cars["Sleeper"]
    assert sleeper.wake_reasons.get("periodic", 0) >= 2  # it did check in, by itself
    assert seen_online >= 2  # and the summary showed it
    assert sleeper.wake_reasons.get("wake_up", 0) == 0
    assert sleeper.awake_seconds < 3 * 200  # its check-ins only, none stretched by a read


async def test_a_car_that_stays_online_is_read_once_the_wait_is_over(env: Env) -> None:
    car = await env.watcher("Sleeper")
    car.confirm_online_s = 240.0
    await car.poll()
    env.cars["Sleeper"].wake_up()  # the owner's phone
    env.world.advance(60)
    reads = await watch_minutes(env, car, 7)
    assert reads.index(True) in (4, 5)  # online at 0: waited 4 minutes, then read


async def test_a_touched_car_is_read_at_once_when_it_comes_online(env: Env) -> None:
    """A Wall Connector saw a plug-in: the service touches the car; no check-in wait."""
    car = await env.watcher("Sleeper")
    car.confirm_online_s = 240.0
    await car.poll()
    car.touch()
    env.cars["Sleeper"].plug_into(env.world.add_wall_connector())
    result = await car.poll()
    assert result.read_data
    assert car.data is not None
    assert car.data.charging_state in ("Starting", "Charging")
    assert env.cars["Sleeper"].wake_reasons.get("wake_up", 0) == 0


async def test_a_resting_car_kept_awake_is_read_again_after_recheck_resting_s(env: Env) -> None:
    car = await env.watcher("Idle", let_sleep_after_s=0.0)
    car.recheck_resting_s = 21 * 60.0
    assert (await car.poll()).began_resting
    env.cars["Idle"].plug_into(env.world.add_wall_connector())  # charging keeps it awake
    reads = await watch_minutes(env, car, 25)
    assert reads.index(True) == 21  # a resting car is left alone until the re-check
    assert car.data is not None
    assert car.data.charging_state in ("Starting", "Charging")
