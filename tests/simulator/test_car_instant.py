"""Every rendered answer of a car comes from one world instant, even while the clock runs.

A clock that moves on every read (`Ticking`) stands in for a running world clock (speed 60 moves
the world a few milliseconds between two reads). The answer rendered under it must equal the
answer of an identical car in a frozen world advanced to the answer's own timestamp: the
odometer, the position, the speed, the battery and the charger must all belong to that instant.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from teslalink.simulator import World
from teslalink.simulator.vehicle import routes
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.core import MILE_M

from .helpers import START

ALL = ["charge_state", "climate_state", "drive_state", "gui_settings", "location_data", "vehicle_config",
       "vehicle_state"]  # fmt: skip
TICK_S = 0.25
HOME = (37.4925, -121.9447)  # where a car is delivered by default


class Ticking:
    """A world clock that moves `step` seconds forward on every read."""

    def __init__(self, world: World, step: float) -> None:
        self.t = world.now()
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.t += self.step
        self.reads += 1
        return self.t


Scenario = Callable[[World, Car], None]


def driving(world: World, car: Car) -> None:
    car.drive("loop_10km", speed_kph=72.0)
    world.advance(90)


def charging(world: World, car: Car) -> None:
    car.plug_into(world.add_wall_connector())
    world.advance(90)


def make(scenario: Scenario) -> tuple[World, Car]:
    world = World(seed=11, speed=0.0, start=START)
    car = world.add_vehicle(world.add_account("owner@example.com", "secret"), battery_level=60.0)
    scenario(world, car)
    return world, car


def frozen_at(scenario: Scenario, t: float) -> Car:
    """The same car in a frozen world, advanced to world time `t`."""
    world, car = make(scenario)
    world.advance(t - world.now())
    return car


def same(a: Any, b: Any) -> bool:
    """Equal, with floats equal up to rounding noise (integration in other steps)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b) and type(a) is type(b)


@pytest.mark.parametrize("scenario", [driving, charging])
def test_telemetry_is_one_instant(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    world, car = make(scenario)
    clock = Ticking(world, TICK_S)
    monkeypatch.setattr(world, "now", clock)
    sample = car.telemetry()
    assert clock.reads <= 2  # the car's clock read (and its Wall Connector's), not one per value
    t = sample["timestamp"] / 1000.0
    assert t == clock.t
    assert same(sample, frozen_at(scenario, t).telemetry())


def test_driving_telemetry_agrees_with_its_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    world, car = make(driving)
    t0, odometer0 = world.now() - 90, car.odometer_mi  # the drive started 90 s ago
    monkeypatch.setattr(world, "now", Ticking(world, TICK_S))
    sample = car.telemetry()
    # At 72 km/h (20 m/s, after 10 s at 2 m/s^2) the car is 100 + 20 (t - t0 - 10) m along
    t = sample["timestamp"] / 1000.0
    travelled_m = 100.0 + 20.0 * (t - t0 - 10.0)
    odometer = odometer0 + (travelled_m - (100.0 + 20.0 * 80.0)) / MILE_M
    assert sample["odometer"] == round(odometer, 1)
    path = routes.Path([HOME, *routes.DEMO_ROUTES["loop_10km"]])
    lat, lng = path.point_at(travelled_m)
    assert (sample["est_lat"], sample["est_lng"]) == (round(lat, 6), round(lng, 6))


@pytest.mark.parametrize("scenario", [driving, charging])
def test_vehicle_data_and_summary_are_one_instant(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, car = make(scenario)
    clock = Ticking(world, TICK_S)
    monkeypatch.setattr(world, "now", clock)
    data = car.vehicle_data(ALL)
    assert clock.reads <= 2
    t = clock.t
    stamps = {data[block]["timestamp"] for block in ALL if block != "location_data"}
    assert stamps == {int(t * 1000)}
    assert data["drive_state"]["gps_as_of"] == int(t)
    twin = frozen_at(scenario, t)
    assert same(data, twin.vehicle_data(ALL))
    reads = clock.reads
    assert same(car.summary(), frozen_at(scenario, clock.t + TICK_S).summary())
    assert clock.reads - reads <= 2


def test_a_read_leaves_the_car_at_its_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    """After an answer the car still moves on: the next read is at the next instant."""
    world, car = make(driving)
    monkeypatch.setattr(world, "now", Ticking(world, TICK_S))
    first, second = car.telemetry(), car.telemetry()
    assert second["timestamp"] > first["timestamp"]
    assert car.now > second["timestamp"] / 1000.0
