"""How the recorder commits: in batches on its own (by time and by size), one transaction each; a
commit that fails is kept, retried with backoff and reported; put() never raises."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path

import pytest

from conftest import eventually
from teslalink.errors import StorageError
from teslalink.service.recorder import Recorder
from teslalink.service.recorder.migrations import SQLITE
from teslalink.service.recorder.sqlite import SqliteBackend
from teslalink.service.records import CarState, Position, StateSpan, WallConnectorSample

from .conftest import PgServer, Storage
from .helpers import SERIAL, T0, VIN, Clock, opened


def samples(count: int, start_ms: int = T0) -> list[WallConnectorSample]:
    return [WallConnectorSample(SERIAL, start_ms + i * 5_000, power_w=float(7000 + i)) for i in range(count)]


async def test_a_full_batch_is_committed_without_waiting_for_the_timer(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock(), batch_s=3600.0, batch_records=10)
    for sample in samples(9):
        recorder.put(sample)
    await asyncio.sleep(0.2)  # the writer had its chance: 9 of 10 is not a batch yet
    assert await recorder.wallconnector_samples(SERIAL) == []
    assert recorder.status.counters["records_queued"] == 9
    recorder.put(samples(10)[-1])
    await eventually(lambda: recorder.status.counters["batches"] == 1)
    assert await recorder.wallconnector_samples(SERIAL) == samples(10)
    assert recorder.status.counters["records_committed"] == 10
    await recorder.close()


async def test_the_timer_commits_what_waits_every_batch_s(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock(), batch_s=0.05, batch_records=1000)
    recorder.put(samples(1)[0])
    await eventually(lambda: recorder.status.counters["records_committed"] == 1)
    recorder.put(samples(2)[1])
    await eventually(lambda: recorder.status.counters["records_committed"] == 2)
    assert recorder.status.counters["batches"] == 2
    assert await recorder.wallconnector_samples(SERIAL) == samples(2)
    await recorder.close()


async def test_put_never_raises_and_counts_what_it_cannot_keep(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    recorder.put("not a record")  # type: ignore[arg-type]
    recorder.put(Position(VIN, T0, latitude=1e300, longitude=0.0))  # beyond its fixed-point column
    recorder.put(WallConnectorSample(SERIAL, T0, power_w=math.nan))  # not known: kept as None
    recorder.put(WallConnectorSample(SERIAL, T0 + 1, grid_v=1e12))
    assert recorder.status.counters["records_rejected"] == 3
    assert recorder.last_rejected is not None
    assert "grid_v_x10" in recorder.last_rejected
    await recorder.flush()
    assert await recorder.wallconnector_samples(SERIAL) == [WallConnectorSample(SERIAL, T0)]
    assert recorder.status.ok
    await recorder.close()
    recorder.put(WallConnectorSample(SERIAL, T0 + 2))  # after close: counted, not raised
    assert recorder.status.counters["records_rejected"] == 4


async def test_rows_the_database_refuses_are_left_out_and_the_rest_committed(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock())
    good = samples(3)
    recorder.put(good[0])
    recorder.put(Position(VIN, T0, latitude=None, longitude=None))  # type: ignore[arg-type]  # NOT NULL
    recorder.put(good[1])
    recorder.put(good[2])
    await recorder.flush()
    assert await recorder.wallconnector_samples(SERIAL) == good
    assert await recorder.positions(VIN) == []
    assert recorder.status.counters["records_rejected"] == 1
    assert recorder.status.counters["records_committed"] == 3
    assert recorder.status.ok
    await recorder.close()


async def _sqlite_recorder(path: Path, clock: Clock, **tuning: object) -> Recorder:
    """A recorder whose writer gives up on a locked database after 50 ms (the service's: 5 s)."""
    backend = await SqliteBackend.open(path, busy_timeout_s=0.05)
    await backend.migrate(SQLITE, clock())
    recorder = Recorder(backend, clock_ms=clock, **tuning)  # type: ignore[arg-type]
    recorder.start()
    return recorder


async def test_a_locked_sqlite_database_is_reported_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "teslalink.db"
    recorder = await _sqlite_recorder(path, Clock(), batch_s=0.02, retry_first_s=0.05, retry_max_s=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # someone holds the write lock (a sqlite3 shell, a backup)
    try:
        for sample in samples(5):
            recorder.put(sample)
        await eventually(lambda: recorder.status.counters["commit_failures"] >= 2)
        assert not recorder.status.ok
        assert recorder.status.error is not None
        assert "cannot commit 5 records" in recorder.status.error
        assert "locked" in recorder.status.error
        assert recorder.status.counters["retries"] >= 1
        with pytest.raises(StorageError, match="locked"):
            await recorder.flush()
    finally:
        other.execute("ROLLBACK")
        other.close()
    await eventually(lambda: recorder.status.ok)
    assert recorder.status.error is None
    assert await recorder.wallconnector_samples(SERIAL) == samples(5)
    assert recorder.status.counters["records_committed"] == 5
    await recorder.close()


async def test_a_postgres_commit_refused_for_a_while_is_retried_until_it_lands(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """The server refuses the recorder's inserts (its role loses INSERT on a table) and later
    takes them again: the batch waits in hand, status says why, and it lands whole."""
    from teslalink.service.settings import StorageSettings

    role = "teslalink_writer"
    if not pg_server.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").strip():
        pg_server.psql(f"CREATE ROLE {role} LOGIN")
    name = pg_server.new_database(owner=role)
    settings = StorageSettings(backend="postgres", dsn=pg_server.dsn(name, user=role))
    recorder = await opened(settings, tmp_path, Clock(), batch_s=0.02, retry_first_s=0.05, retry_max_s=0.2)
    try:
        pg_server.psql(f"REVOKE INSERT ON wallconnector_samples FROM {role}", database=name)
        for sample in samples(4):
            recorder.put(sample)
        recorder.put(StateSpan("s-1", VIN, CarState.ONLINE, T0))
        await eventually(lambda: recorder.status.counters["commit_failures"] >= 2)
        assert not recorder.status.ok
        assert "permission denied" in (recorder.status.error or "")
        assert await recorder.states() == []  # the batch is one transaction: nothing of it landed
        pg_server.psql(f"GRANT INSERT ON wallconnector_samples TO {role}", database=name)
        await eventually(lambda: recorder.status.ok)
        assert await recorder.wallconnector_samples(SERIAL) == samples(4)
        assert await recorder.states() == [StateSpan("s-1", VIN, CarState.ONLINE, T0)]
    finally:
        await recorder.close()
        pg_server.drop_database(name)


async def test_a_full_queue_drops_the_oldest_samples_never_a_span(tmp_path: Path) -> None:
    path = tmp_path / "teslalink.db"
    recorder = await _sqlite_recorder(path, Clock(), batch_s=3600.0, max_queue=5, batch_records=1000)
    span = StateSpan("s-1", VIN, CarState.ASLEEP, T0)
    recorder.put(span)
    for sample in samples(8):
        recorder.put(sample)
    assert recorder.status.counters["records_dropped"] == 4
    await recorder.flush()
    assert await recorder.states() == [span]
    assert await recorder.wallconnector_samples(SERIAL) == samples(8)[4:]
    await recorder.close()


async def test_close_commits_what_waits(storage: Storage) -> None:
    recorder = await opened(storage.settings, storage.data_dir, Clock(), batch_s=3600.0)
    for sample in samples(3):
        recorder.put(sample)
    await recorder.close()
    again = await opened(storage.settings, storage.data_dir, Clock())
    assert await again.wallconnector_samples(SERIAL) == samples(3)
    await again.close()


async def test_close_on_a_database_that_stays_locked_reports_what_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "teslalink.db"
    recorder = await _sqlite_recorder(
        path, Clock(), batch_s=3600.0, retry_first_s=0.02, retry_max_s=0.05, close_timeout_s=0.2
    )
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for sample in samples(3):
            recorder.put(sample)
        await recorder.close()  # never raises
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not recorder.status.ok
    assert recorder.status.counters["records_lost"] == 3
    assert "3 records not saved at close" in (recorder.status.error or "")
