"""Upgrading a database in place: one that the previous teslalink made (schema version 1, before
the energy sites' days) is brought to version 2 at open, on SQLite and on PostgreSQL, and keeps
every row it held.

The old database is made by this code with its migration list cut back to the first migration:
a released migration never changes, so that is exactly what the previous release created.
"""

from __future__ import annotations

import hashlib

import pytest

from teslalink.errors import StorageError
from teslalink.service.recorder import migrations, open_reader
from teslalink.service.records import SiteEnergyDay

from .conftest import Storage
from .helpers import SITE, T0, Clock, one_of_each, opened, read_back


def database_of(storage: Storage) -> str:
    if storage.backend == "postgres":
        assert storage.settings.dsn is not None
        return storage.settings.dsn
    return str(storage.data_dir / "teslalink.db")


async def test_a_version_1_database_is_upgraded_in_place_and_keeps_its_rows(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as old:  # the previous release: migration 1 only
        old.setattr(migrations, "SQLITE", migrations.SQLITE[:1])
        old.setattr(migrations, "POSTGRES", migrations.POSTGRES[:1])
        recorder = await opened(storage.settings, storage.data_dir, Clock())
        kept = [r for r in one_of_each() if not isinstance(r, SiteEnergyDay)]
        for record in kept:
            recorder.put(record)
        await recorder.close()
    with pytest.raises(StorageError) as older:  # history says what to do, and changes nothing
        await open_reader(database_of(storage))
    assert "at schema version 1; `teslalink serve` upgrades it to 2" in str(older.value)

    upgraded = await opened(storage.settings, storage.data_dir, Clock(T0 + 60_000))
    try:
        versions = await upgraded._backend.fetch("SELECT version, applied_ms FROM schema_version ORDER BY 1")
        assert versions == [(1, T0), (2, T0 + 60_000)]
        assert [r for r in await read_back(upgraded) if not isinstance(r, SiteEnergyDay)] == kept
        assert await upgraded.site_energy_days() == []
        day = SiteEnergyDay(SITE, "2026-11-30", solar_wh=18_000.0, home_wh=12_500.5, site_name="Home")
        upgraded.put(day)
        await upgraded.flush()
        assert await upgraded.site_energy_days() == [day]
        (site_ids,) = await upgraded._backend.fetch("SELECT count(*) FROM devices WHERE kind = 'site'")
        assert site_ids == (1,)  # the day joined the site the version 1 samples named
    finally:
        await upgraded.close()
    reader = await open_reader(database_of(storage))
    try:
        assert await reader.last_site_day(SITE) == day
    finally:
        await reader.close()


RELEASED_V1 = {
    "sqlite": "352678a8c2b949af86e33d011cefa4c4a7f2340369dd889437619f08c041ee9c",
    "postgres": "6815d412ad28d2da31cc1d477f0bf8a6821f7aceb91393e60ecf6d387a703f49",
}
"""sha256 of migration 1's statements as released (commit ed6a1cb): a released migration is
never edited, a change is a new one at the end of both lists."""


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migration_1_is_as_released_and_the_days_are_migration_2(backend: str) -> None:
    known = migrations.SQLITE if backend == "sqlite" else migrations.POSTGRES
    assert [m.version for m in known] == [1, 2]
    text = "\n;\n".join(known[0].statements)
    assert hashlib.sha256(text.encode()).hexdigest() == RELEASED_V1[backend]
    assert [s.split("(")[0].split()[-1] for s in known[1].statements] == ["site_energy_days"]
