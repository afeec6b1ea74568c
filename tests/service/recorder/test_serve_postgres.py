"""`teslalink serve` recording into PostgreSQL (the same schema as SQLite): a charge at home on the
twin, read back from the server, with the twin's energy."""

from __future__ import annotations

from pathlib import Path

from teslalink.service.home_twin import WEEK_START, serve_home
from teslalink.service.recorder import open_reader
from teslalink.service.records import ChargeSource
from teslalink.service.runner import Service
from teslalink.service.scheduler import WorldClock
from teslalink.service.settings import StorageSettings
from teslalink.simulator import scenario


async def test_a_charge_at_home_is_recorded_in_postgresql(pg_database: str, tmp_path: Path) -> None:
    async with serve_home(tmp_path, battery_level=70.0) as twin:
        settings = twin.settings(storage=StorageSettings(backend="postgres", dsn=pg_database))
        clock = WorldClock(twin.world)
        async with Service(
            settings, store=twin.store, clock=clock, fleet_options=twin.fleet_options
        ) as service:
            await service.run_until(WEEK_START + 60)
            scenario.plug_in(twin.world, twin.car.id, twin.unit.serial)
            await service.run_until(WEEK_START + 3 * 3600)
            scenario.unplug(twin.world, twin.car.id)
            await service.run_until(WEEK_START + 3 * 3600 + 900)
        truth = scenario.unit_truth(twin.world, twin.unit.serial)
    reader = await open_reader(pg_database)
    try:
        (charge,) = await reader.charges()
        (session,) = await reader.sessions()
        events = [e.kind.value for e in await reader.events()]
    finally:
        await reader.close()
    assert charge.source is ChargeSource.BOTH
    assert charge.end_ms is not None
    assert charge.energy_grid_wh is not None
    assert abs(charge.energy_grid_wh - truth["session_energy_wh"]) <= 0.02 * truth["session_energy_wh"]
    assert session.end_ms is not None
    assert events.count("plugged_in") == 1
    assert events.count("unplugged") == 1
