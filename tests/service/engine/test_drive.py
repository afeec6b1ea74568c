"""A day's small story: the car falls asleep, is driven, parks: spans, events and the drive's figures."""

from __future__ import annotations

import itertools

from teslalink.cloud.vehicle_data import KM_PER_MILE
from teslalink.service.engine.drives import POSITION_EVERY_MS, POSITION_MIN_M, Fix, keep_position
from teslalink.service.engine.tracks import DriveTrack
from teslalink.service.events import EventKind
from teslalink.service.records import CarState, Drive, Position, StateSpan
from teslalink.simulator import scenario
from teslalink.simulator.accounting import BillingCategory

from .harness import twin


async def test_sleep_a_drive_and_parking_are_spans_and_events_with_the_twins_distance() -> None:
    async with twin(battery_level=70.0) as t:
        await t.start()
        await t.run_until(lambda: t.car.state == "asleep", limit_s=3 * 3600)
        await t.run(120)
        scenario.drive(t.world, t.car.vin, route="loop_10km", speed_kph=50)
        await t.run_until(lambda: not t.car.is_driving, limit_s=3600)
        await t.run(t.car_policy.driving_s)  # the next poll sees it parked
        assert t.engine is not None
        assert t.engine.failures == 0
        assert t.billed(BillingCategory.WAKE) == 0

        assert t.kinds() == ["car_asleep", "drive_started", "car_online", "drive_ended"]
        (trip,) = t.car.trips
        (drive,) = t.latest(Drive).values()
        assert drive.end_ms is not None
        truth_km = trip.distance_mi * KM_PER_MILE
        assert drive.distance_km is not None
        assert abs(drive.distance_km - truth_km) <= 0.02 * truth_km
        # The energy is an estimate from the rated range drop (our choice; the API gives none):
        # the start is the last parked reading's, before a little standby drain.
        assert drive.energy_used_wh is not None
        assert abs(drive.energy_used_wh - trip.energy_kwh * 1000) <= 0.08 * trip.energy_kwh * 1000
        assert 0 <= drive.start_ms / 1000 - trip.start <= t.car_policy.summary_s
        assert 0 <= drive.end_ms / 1000 - trip.end <= t.car_policy.driving_s
        (ended,) = t.events(EventKind.DRIVE_ENDED)
        assert ended.figures["distance_km"] == round(drive.distance_km, 2)
        assert ended.figures["energy_wh"] == round(drive.energy_used_wh)
        assert drive.start_latitude == drive.end_latitude  # a loop: back where it started

        positions = t.of(Position)
        assert len(positions) >= 3
        assert {p.drive_key for p in positions} == {drive.key}
        assert all(b.at_ms - a.at_ms >= POSITION_EVERY_MS for a, b in itertools.pairwise(positions))

        spans = list(t.latest(StateSpan).values())
        assert [s.state for s in spans] == [
            CarState.ONLINE,
            CarState.ASLEEP,
            CarState.DRIVING,
            CarState.ONLINE,
        ]
        assert [s.end_ms is None for s in spans] == [False, False, False, True]
        assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(spans))
        (asleep,) = t.events(EventKind.CAR_ASLEEP)
        assert asleep.at_ms == spans[1].start_ms


def test_positions_are_thinned_to_one_per_15_s_and_100_m_or_one_per_5_min_standing() -> None:
    drive = DriveTrack(key="VIN:0", start_ms=0)
    kept = []
    # A second-by-second stream: 20 s standing still at the lights, then 20 m/s due north.
    latitude = 37.0
    for second in range(0, 400):
        moving = second >= 20
        if moving:
            latitude += 20.0 / 111_195.0
        fix = Fix(at_ms=second * 1000, latitude=latitude, longitude=-122.0)
        moved = keep_position(drive, fix)
        if moved is not None:
            kept.append((second, moved))
            drive.kept_ms, drive.kept_latitude, drive.kept_longitude = fix.at_ms, fix.latitude, fix.longitude
    seconds = [s for s, _ in kept]
    assert seconds[0] == 0
    assert all(b - a >= POSITION_EVERY_MS / 1000 for a, b in itertools.pairwise(seconds))
    assert all(moved >= POSITION_MIN_M for _, moved in kept[1:])
    assert len(kept) <= 400 / 15 + 1
    standing = DriveTrack(key="VIN:1", start_ms=0, kept_ms=0, kept_latitude=37.0, kept_longitude=-122.0)
    still = Fix(at_ms=299_000, latitude=37.0, longitude=-122.0)
    assert keep_position(standing, still) is None
    assert keep_position(standing, Fix(at_ms=300_000, latitude=37.0, longitude=-122.0)) == 0.0
