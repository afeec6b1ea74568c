"""Driving a route: geometry, the speed profile, position, odometer, battery, arrival, streaming."""

from __future__ import annotations

import math

import pytest

from teslalink.simulator import World
from teslalink.simulator.vehicle import DEMO_ROUTES, render
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.routes import DriveProfile, Path, bearing_deg, distance_m, interpolate

from .helpers import START

HOME = (37.4925, -121.9447)


def make(**options: object) -> tuple[World, Car]:
    world = World(seed=7, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret")
    return world, world.add_vehicle(account, **options)


# --- geometry ---------------------------------------------------------------------------------


def test_great_circle_distance_and_bearing() -> None:
    assert distance_m((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111_195, rel=1e-4)
    assert distance_m((0.0, 0.0), (1.0, 0.0)) == pytest.approx(111_195, rel=1e-4)
    assert bearing_deg((0.0, 0.0), (1.0, 0.0)) == pytest.approx(0.0)
    assert bearing_deg((0.0, 0.0), (0.0, 1.0)) == pytest.approx(90.0)
    assert bearing_deg((0.0, 0.0), (-1.0, 0.0)) == pytest.approx(180.0)
    # New York to London along the great circle, not the rhumb line
    assert distance_m((40.7128, -74.0060), (51.5074, -0.1278)) == pytest.approx(5_570_000, rel=5e-3)


def test_interpolation_stays_on_the_great_circle() -> None:
    a, b = (40.7128, -74.0060), (51.5074, -0.1278)
    mid = interpolate(a, b, 0.5)
    assert distance_m(a, mid) == pytest.approx(distance_m(a, b) / 2, rel=1e-9)
    assert distance_m(mid, b) == pytest.approx(distance_m(a, b) / 2, rel=1e-9)
    assert mid[0] > (a[0] + b[0]) / 2  # the great circle bends toward the pole


def test_demo_loop_is_about_ten_km_and_closed() -> None:
    path = Path(DEMO_ROUTES["loop_10km"])
    assert 9_000 < path.length_m < 11_000
    assert path.points[0] == path.points[-1]


def test_trapezoid_profile() -> None:
    profile = DriveProfile(10_000.0, 20.0, accel_m_s2=2.0)
    assert profile.duration_s == pytest.approx(10_000 / 20 + 20 / 2)
    assert profile.state(5.0) == pytest.approx((25.0, 10.0, 2.0))
    assert profile.state(100.0)[1] == 20.0
    assert profile.state(profile.duration_s - 1)[2] == -2.0
    assert profile.state(profile.duration_s + 10) == (10_000.0, 0.0, 0.0)
    short = DriveProfile(50.0, 30.0, accel_m_s2=2.0)  # never reaches cruise: a triangle
    assert short.peak_m_s == pytest.approx(10.0)
    assert short.state(short.duration_s)[0] == pytest.approx(50.0)


# --- the drive --------------------------------------------------------------------------------


def test_drive_the_loop() -> None:
    world, car = make(battery_level=80.0)
    odo0, energy0 = car.odometer_mi, car.battery.energy_kwh
    path = Path([HOME, *DEMO_ROUTES["loop_10km"]])
    car.drive("loop_10km", speed_kph=60.0)
    world.advance(120)
    assert car.is_driving
    assert car.shift_state == "D"
    kph, accel, power = car.motion()
    assert kph == pytest.approx(60.0)
    assert accel == 0.0
    assert power == pytest.approx(car.spec.drive_wh_per_km * 60 / 1000)
    ds = render.drive_state(car, car.now, location=True)
    assert ds["speed"] == round(60 / 1.609344)
    assert ds["shift_state"] == "D"
    assert ds["heading"] == round(bearing_deg(HOME, DEMO_ROUTES["loop_10km"][1])) % 360  # due north
    travelled = 60 / 3.6 * (120 - 60 / 3.6 / 2 / 2)
    assert distance_m(HOME, car.location) == pytest.approx(travelled, rel=1e-3)
    duration = path.length_m / (60 / 3.6) + (60 / 3.6) / 2.0
    world.advance(duration - 120 - 3)
    assert car.motion()[2] < 0  # braking: regeneration
    world.advance(10)
    assert not car.is_driving
    assert car.shift_state == "P"
    assert distance_m(car.location, HOME) < 1.0
    assert car.odometer_mi - odo0 == pytest.approx(path.length_m / 1609.344, rel=1e-6)
    used = energy0 - car.battery.energy_kwh
    assert used == pytest.approx(car.spec.drive_wh_per_km * path.length_m / 1e6, rel=1e-3)
    trip = car.trips[-1]
    assert trip.distance_mi == pytest.approx(path.length_m / 1609.344, rel=1e-6)
    assert trip.end - trip.start == pytest.approx(duration, abs=1e-6)
    assert render.drive_state(car, car.now)["speed"] is None


def test_position_lies_on_the_route() -> None:
    world, car = make()
    route = DEMO_ROUTES["commute"]
    car.drive(route, speed_kph=90.0)
    path = Path([HOME, *route])
    for _ in range(20):
        world.advance(45)
        here = car.location
        nearest = min(distance_m(here, path.point_at(s)) for s in range(0, int(path.length_m), 20))
        assert nearest < 15.0


def test_park_ends_the_drive_where_the_car_is() -> None:
    world, car = make()
    car.drive("commute")
    world.advance(300)
    where = car.location
    car.park()
    world.advance(600)
    assert car.location == where
    assert car.shift_state == "P"
    assert len(car.trips) == 1


def test_an_empty_battery_stops_the_car() -> None:
    world, car = make(battery_level=1.0)
    car.drive([(37.4925, -121.0)], speed_kph=100.0)  # ~83 km east, far beyond 0.575 kWh
    world.advance(3600)
    assert not car.is_driving
    assert car.battery.energy_kwh == pytest.approx(0.0, abs=1e-9)
    reach_km = 0.01 * car.spec.capacity_kwh * 1000 / car.spec.drive_wh_per_km
    assert car.trips[-1].distance_mi * 1.609344 == pytest.approx(reach_km, rel=1e-6)


def test_cannot_drive_while_plugged_in() -> None:
    world, car = make()
    car.plug_into(world.add_wall_connector())
    with pytest.raises(RuntimeError, match="unplug"):
        car.drive("loop_10km")


def test_shift_p_lasts_until_the_car_sleeps() -> None:
    world, car = make(newer_computer=False)
    car.drive([(37.50, -121.9447)], speed_kph=50)
    world.advance(600)
    assert car.shift_state == "P"
    world.advance(3600)
    assert car.state == "asleep"
    assert car.shift_state is None


# --- streaming --------------------------------------------------------------------------------


def test_telemetry_while_driving_and_parked() -> None:
    world, car = make(battery_level=60.0)
    parked = car.telemetry()
    assert parked["speed"] is None
    assert parked["shift_state"] is None
    assert parked["power"] == 0
    assert list(parked) == ["timestamp", *render.STREAM_COLUMNS]
    car.drive("loop_10km", speed_kph=72.0)
    world.advance(60)
    moving = car.telemetry()
    assert moving["timestamp"] == int(world.now() * 1000)
    assert moving["speed"] == round(72 / 1.609344)
    assert moving["shift_state"] == "D"
    assert moving["power"] > 0
    assert moving["soc"] == car.battery.level
    assert moving["est_heading"] == moving["heading"]
    assert isinstance(moving["elevation"], int)
    assert moving["range"] == round(car.battery.range_mi)
    assert car.telemetry_changed_at() == world.now()
    world.advance(600)
    arrival = car.trips[-1].end
    assert car.telemetry_changed_at() == arrival
    assert car.telemetry_changed_since(arrival - 1)
    assert not car.telemetry_changed_since(arrival)
    assert car.telemetry()["speed"] is None
    assert math.isclose(car.telemetry()["est_lat"], HOME[0], abs_tol=1e-5)


def test_telemetry_changes_while_charging() -> None:
    world, car = make()
    car.plug_into(world.add_wall_connector())
    world.advance(60)
    assert car.telemetry()["power"] < 0
    assert car.telemetry_changed_at() == world.now()
