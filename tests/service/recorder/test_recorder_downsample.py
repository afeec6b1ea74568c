"""Downsampling: old samples thinned to one per device and 5 minutes (averages of rates, last of
counters and states), recent ones and positions untouched, and a second run changes nothing."""

from __future__ import annotations

import pytest

from teslalink.service.recorder import BUCKET_MS
from teslalink.service.records import (
    ChargeSample,
    ChargeSource,
    ChargingSession,
    Position,
    SiteSample,
    WallConnectorSample,
)

from .conftest import Storage
from .helpers import SERIAL, SITE, VIN, Clock, opened

HOUR = 3_600_000
START = (1_796_000_000_000 // BUCKET_MS) * BUCKET_MS  # a bucket boundary


def unit_sample(i: int) -> WallConnectorSample:
    """A unit read every 5 s while charging: power rising by 1 W a read, energy by 10 Wh."""
    return WallConnectorSample(
        SERIAL,
        START + i * 5_000,
        vehicle_connected=True,
        contactor_closed=i % 2 == 0,
        evse_state=11,
        power_w=7_000.0 + i,
        grid_v=230.0 + (i % 3) / 10,
        session_energy_wh=10.0 * i,
        handle_temp_c=20.0,
    )


async def test_old_samples_become_one_per_five_minutes(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    per_bucket = BUCKET_MS // 5_000  # 60 reads in 5 minutes
    old = [unit_sample(i) for i in range(2 * per_bucket)]  # two old buckets
    recent = [unit_sample(i) for i in range(2 * per_bucket, 3 * per_bucket)]
    for sample in old + recent:
        recorder.put(sample)
    positions = [
        Position(VIN, START + i * 5_000, 48.8583701, 2.2944813, speed_kmh=float(i)) for i in range(120)
    ]
    for position in positions:
        recorder.put(position)
    await recorder.flush()

    removed = await recorder.downsample(START + 2 * BUCKET_MS)
    assert removed == 2 * (per_bucket - 1)
    kept = await recorder.wallconnector_samples(SERIAL)
    assert kept[2:] == recent  # the bucket at the cutoff and after: as they were
    for bucket, row in enumerate(kept[:2]):
        group = old[bucket * per_bucket : (bucket + 1) * per_bucket]
        assert row.at_ms == group[-1].at_ms  # the time of the bucket's last read
        assert row.power_w == round(sum(s.power_w or 0 for s in group) / len(group))  # rates: averaged
        assert row.session_energy_wh == group[-1].session_energy_wh  # counters: the last
        assert row.contactor_closed is group[-1].contactor_closed  # states: the last
        assert row.grid_v == pytest.approx(230.1)
        assert row.handle_temp_c == 20.0
    assert await recorder.positions(VIN) == positions  # a drive's path is never thinned
    assert recorder.status.counters["rows_downsampled"] == removed

    assert await recorder.downsample(START + 2 * BUCKET_MS) == 0  # again: nothing to do
    assert await recorder.wallconnector_samples(SERIAL) == kept
    await recorder.close()


async def test_a_later_run_goes_on_where_the_last_stopped_and_sessions_keep_their_totals(
    storage: Storage,
) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    session = ChargingSession(
        "c-1", ChargeSource.CAR, START, START + 2 * HOUR, vin=VIN, energy_added_wh=14_000.0
    )
    recorder.put(session)
    car = [
        ChargeSample(VIN, START + i * 30_000, session_key="c-1", energy_added_wh=100.0 * i, power_w=7_000.0)
        for i in range(240)
    ]
    site = [
        SiteSample(SITE, START + i * 60_000, solar_w=float(i), battery_level=50.0 + i / 10)
        for i in range(120)
    ]
    for record in car + site:
        recorder.put(record)
    await recorder.flush()

    await recorder.downsample(START + HOUR)
    assert len(await recorder.charge_samples(VIN)) == 12 + 120  # the first hour thinned, the second not
    await recorder.downsample(START + 2 * HOUR)
    thinned = await recorder.charge_samples(VIN)
    assert len(thinned) == 24
    assert [s.energy_added_wh for s in thinned] == [car[i * 10 + 9].energy_added_wh for i in range(24)]
    assert all(s.session_key == "c-1" and s.power_w == 7_000.0 for s in thinned)
    sites = await recorder.site_samples(SITE)
    assert len(sites) == 24
    assert sites[0].solar_w == 2.0  # the average of 0..4 W
    assert sites[0].battery_level == site[4].battery_level  # a level: the last
    assert await recorder.charges() == [session]
    await recorder.close()
