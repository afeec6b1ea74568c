"""Sleep and wake: the idle timer, what keeps a car awake, hourly check-ins, wake_up, accounting."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from teslalink.simulator import World
from teslalink.simulator.vehicle import Power, VehicleUnavailable
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.power import PERIODIC_STAY_S, PERIODIC_WAKE_S

from .helpers import START


def make(seed: int = 7, **options: object) -> tuple[World, Car]:
    world = World(seed=seed, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret")
    options.setdefault("newer_computer", False)
    return world, world.add_vehicle(account, **options)


def test_falls_asleep_after_the_idle_time() -> None:
    world, car = make()
    assert car.state == "online"
    world.advance(899)
    assert car.state == "online"
    world.advance(2)
    assert car.state == "asleep"
    assert car.power_state is Power.ASLEEP


def test_custom_idle_time() -> None:
    world, car = make(idle_sleep_s=600)
    world.advance(601)
    assert car.state == "asleep"


def test_summary_reads_do_not_keep_it_awake() -> None:
    world, car = make()
    for _ in range(20):
        world.advance(60)
        assert car.summary()["id"] == car.id
        car.nearby_charging_sites()
        car.telemetry()
    assert car.state == "asleep"


def test_vehicle_data_keeps_it_awake() -> None:
    world, car = make()
    for _ in range(12):
        world.advance(600)
        car.vehicle_data()
    assert car.state == "online"
    world.advance(899)
    assert car.state == "online"
    world.advance(2)
    assert car.state == "asleep"


def test_commands_keep_it_awake() -> None:
    world, car = make()
    for _ in range(6):
        world.advance(600)
        assert car.command("honk_horn") == (True, "")
    world.advance(901)
    assert car.state == "asleep"


def test_touch_restarts_the_timer_only_when_online() -> None:
    world, car = make()
    world.advance(800)
    assert car.touch() is True
    world.advance(800)
    assert car.state == "online"
    world.advance(200)
    assert car.touch() is False
    assert car.state == "asleep"


def _sentry(car: Car, on: bool) -> None:
    car.command("set_sentry_mode", {"on": on})


def _climate(car: Car, on: bool) -> None:
    car.command("auto_conditioning_start" if on else "auto_conditioning_stop")


def _dog_mode(car: Car, on: bool) -> None:
    car.command("set_climate_keeper_mode", {"climate_keeper_mode": 2 if on else 0})
    if not on:
        car.command("auto_conditioning_stop")


def _user(car: Car, on: bool) -> None:
    car.user_present = on


def _door(car: Car, on: bool) -> None:
    car.set_closure("df", on)


def _trunk(car: Car, on: bool) -> None:
    car.command("actuate_trunk", {"which_trunk": "rear"})


KEEPERS: dict[str, Callable[[Car, bool], None]] = {
    "sentry": _sentry,
    "climate": _climate,
    "dog_mode": _dog_mode,
    "user_present": _user,
    "door_open": _door,
    "trunk_open": _trunk,
}


@pytest.mark.parametrize("keeper", list(KEEPERS))
def test_each_keeper_keeps_it_awake(keeper: str) -> None:
    world, car = make()
    KEEPERS[keeper](car, True)
    world.advance(3 * 3600)
    assert car.state == "online"
    KEEPERS[keeper](car, False)
    world.advance(899)
    assert car.state == "online"
    world.advance(2)
    assert car.state == "asleep"


def test_software_download_keeps_it_awake_until_done() -> None:
    world, car = make()
    car.offer_update("2026.44.1", download_s=3600)
    world.advance(3000)
    assert car.state == "online"
    assert car.vehicle_data()["vehicle_state"]["software_update"]["status"] == "downloading"
    world.advance(600 + 899)  # download done at 3600 s, then the idle time
    assert car.state == "online"
    world.advance(2)
    assert car.state == "asleep"


def test_driving_keeps_it_awake_and_the_timer_starts_at_arrival() -> None:
    world, car = make()
    car.drive("loop_10km", speed_kph=30)
    world.advance(1000)
    assert car.state == "online"
    assert car.is_driving
    arrival = car.trips[-1].end if car.trips else None
    assert arrival is None
    world.advance(400)
    assert not car.is_driving
    arrival = car.trips[-1].end
    world.advance(arrival + 899 - world.now())
    assert car.state == "online"
    world.advance(2)
    assert car.state == "asleep"


def test_user_getting_in_wakes_the_car() -> None:
    _world, car = make(asleep=True)
    assert car.state == "asleep"
    car.user_present = True
    assert car.state == "online"
    assert car.wake_reasons == {"user": 1}


def test_vehicle_data_and_commands_need_it_online() -> None:
    _world, car = make(asleep=True)
    with pytest.raises(VehicleUnavailable):
        car.vehicle_data()
    with pytest.raises(VehicleUnavailable):
        car.command("honk_horn")
    assert car.summary()["state"] == "asleep"


def test_wake_up_takes_10_to_30_seconds() -> None:
    durations = []
    for seed in range(12):
        world, car = make(seed=seed, asleep=True)
        car.wake_up()
        assert car.summary()["state"] == "asleep"  # the API answers at once with the current state
        assert car.power_state is Power.WAKING
        seconds = 0
        while car.state != "online":
            world.advance(1)
            seconds += 1
            assert seconds <= 31
        durations.append(seconds)
        assert car.wake_reasons == {"wake_up": 1}
        assert car.wake_count == 1
    assert min(durations) >= 10
    assert len(set(durations)) > 3  # seeded, not constant


def test_woken_car_stays_up_for_the_idle_time() -> None:
    world, car = make(asleep=True)
    car.wake_up()
    world.advance(30)
    assert car.state == "online"
    world.advance(850)
    assert car.state == "online"
    world.advance(100)
    assert car.state == "asleep"


def test_wake_up_while_online_is_a_touch_and_not_a_wake() -> None:
    world, car = make()
    world.advance(800)
    car.wake_up()
    world.advance(800)
    assert car.state == "online"
    assert car.wake_count == 0


def test_newer_computers_check_in_about_hourly() -> None:
    world, car = make(newer_computer=True, asleep=True)
    online_windows: list[tuple[int, int]] = []
    start = None
    for second in range(0, 5 * 3600, 10):
        online = car.state == "online"
        if online and start is None:
            start = second
        elif not online and start is not None:
            online_windows.append((start, second))
            start = None
        world.advance(10)
    assert 4 <= len(online_windows) <= 6
    for begin, end in online_windows:
        assert PERIODIC_STAY_S[0] - 10 <= end - begin <= PERIODIC_STAY_S[1] + 10
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(online_windows)]
    for gap in gaps:
        assert PERIODIC_WAKE_S[0] - 10 <= gap <= PERIODIC_WAKE_S[1] + 10
    assert car.wake_reasons == {"periodic": len(online_windows)}


def test_older_computers_sleep_through() -> None:
    world, car = make(newer_computer=False, asleep=True)
    world.advance(24 * 3600)
    assert car.wake_count == 0
    assert car.awake_seconds == 0.0


def test_vehicle_data_during_a_check_in_keeps_it_awake() -> None:
    world, car = make(newer_computer=True, asleep=True)
    while car.state != "online":
        world.advance(5)
    car.vehicle_data()
    world.advance(600)  # past the 2-3 min check-in
    assert car.state == "online"
    world.advance(301)
    assert car.state == "asleep"


def test_offline_car_cannot_be_reached_or_woken() -> None:
    world, car = make()
    car.go_offline()
    assert car.state == "offline"
    assert car.summary()["state"] == "offline"
    with pytest.raises(VehicleUnavailable):
        car.vehicle_data()
    world.advance(3600)
    car.wake_up()
    world.advance(60)
    assert car.state == "offline"
    car.come_online()
    assert car.state == "asleep"  # it slept meanwhile, as nobody could keep it awake
    assert car.wake_count == 0


def test_awake_seconds_count_the_time_awake() -> None:
    world, car = make()
    world.advance(24 * 3600)
    assert car.awake_seconds == pytest.approx(900.0)
    car.wake_up()
    world.advance(24 * 3600)
    assert 900.0 + 910.0 <= car.awake_seconds <= 900.0 + 930.0


def test_sleep_history_does_not_depend_on_reads() -> None:
    def run(read_every: float) -> tuple[int, float, float]:
        world, car = make(newer_computer=True)
        elapsed = 0.0
        while elapsed < 2 * 86_400:
            world.advance(read_every)
            elapsed += read_every
            car.summary()
        return car.wake_count, car.awake_seconds, car.battery_level

    assert run(8.0) == pytest.approx(run(86_400.0), rel=1e-9)


def test_parked_cars_drain_a_little_more_awake_than_asleep() -> None:
    world, car = make()
    level0 = car.battery_level
    world.advance(86_400)
    asleep_drain = level0 - car.battery_level
    assert 0.0 < asleep_drain < 1.5
    car.wake_up()
    world.advance(30)
    car.command("set_sentry_mode", {"on": True})
    level1 = car.battery_level
    world.advance(86_400)
    assert level1 - car.battery_level > 5 * asleep_drain
