"""`teslalink serve` reads the home's Powerwall site's history once a day and records it, in
virtual time against `service.home_twin` (the car asleep, no Wall Connector: only the account's
jobs, the car's summaries and the site's two jobs run).

The twin's ledger says what each day really was; its accounting says what was billed: a site's
reads are billed as data and not per car, so the site's billed reads are the data total less
the car's, and the history's are those less the live-status reads (one `SiteSample` each).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from teslalink.service.events import DeviceKind
from teslalink.service.home_twin import WEEK_START, HomeTwin, serve_home
from teslalink.service.recorder import open_recorder
from teslalink.service.records import SiteEnergyDay
from teslalink.service.runner import Service
from teslalink.service.scheduler import WorldClock
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.site import history as twin_history
from teslalink.simulator.week import DAY_S

HOUR = 3600.0


@pytest.fixture
async def twin(tmp_path: Path) -> AsyncIterator[HomeTwin]:
    async with serve_home(tmp_path) as home:
        yield home


def service_of(twin: HomeTwin) -> Service:
    return Service(
        twin.settings(with_unit=False),
        store=twin.store,
        clock=WorldClock(twin.world),
        fleet_options=twin.fleet_options,
    )


def site_reads(twin: HomeTwin) -> int:
    accounting = twin.world.accounting
    car = accounting.by_vehicle.get(twin.car.id, {})
    return int(accounting.totals.get(BillingCategory.DATA, 0)) - int(car.get(BillingCategory.DATA, 0))


async def recorded(twin: HomeTwin) -> tuple[list[SiteEnergyDay], int]:
    settings = twin.settings(with_unit=False)
    reader = await open_recorder(settings.storage, data_dir=settings.data_dir, clock_ms=lambda: 0)
    try:
        days = await reader.site_energy_days()
        samples = await reader.site_samples(str(twin.site.energy_site_id))
    finally:
        await reader.close()
    return days, len(samples)


async def test_serve_records_each_day_of_the_site_once_and_goes_on_after_a_restart(twin: HomeTwin) -> None:
    site_id = str(twin.site.energy_site_id)
    async with service_of(twin) as service:
        await service.run_until(WEEK_START + 2 * DAY_S + HOUR)  # Wednesday 01:00, Fremont
        status = service.state.devices[(DeviceKind.SITE, site_id)]
        assert status.reading["day"] == "2026-06-02"
        assert status.error is None
    days, samples = await recorded(twin)
    assert [(d.site_id, d.day, d.site_name) for d in days] == [
        (site_id, "2026-06-01", "Home"),
        (site_id, "2026-06-02", "Home"),
    ]
    monday = twin.site.env.local_day(WEEK_START + 12 * HOUR)
    for number, record in enumerate(days, start=monday):
        v = twin.site.ledger.day_total(number)  # the twin's own totals of that local day
        assert record.solar_wh == pytest.approx(v[twin_history.SOLAR], abs=0.01)
        assert record.grid_import_wh == pytest.approx(v[twin_history.GRID_IN], abs=0.01)
        assert record.battery_discharge_wh == pytest.approx(v[twin_history.BATTERY_OUT], abs=0.01)
    assert status.reading["day_solar_wh"] == pytest.approx(days[-1].solar_wh, abs=0.1)
    assert site_reads(twin) - samples == 1 + 2  # site_info once, then one history read a day

    # A restart a minute later (the first live read then is a sample of its own): the last day
    # comes from the database, and no day is read again.
    before = site_reads(twin) - samples
    twin.world.advance(60)
    async with service_of(twin) as service:
        await service.run_until(twin.world.now() + 600)
        status = service.state.devices[(DeviceKind.SITE, site_id)]
        assert status.reading["day"] == "2026-06-02"  # shown at once, from the recorder
    days_after, samples_after = await recorded(twin)
    assert days_after == days
    assert site_reads(twin) - samples_after == before + 1  # only site_info (the zone) again
