"""Opening a database: migrations from empty, a newer schema refused, a bad path or a server that
does not answer as one clear line (a DSN's password never in it)."""

from __future__ import annotations

import socket
import sqlite3
import stat
from pathlib import Path

import pytest

from teslalink.errors import StorageError
from teslalink.service.recorder import open_reader, open_recorder
from teslalink.service.recorder.migrations import POSTGRES, SQLITE, latest
from teslalink.service.recorder.postgres import redacted_dsn
from teslalink.service.settings import StorageSettings

from .conftest import PgServer, Storage
from .helpers import T0, Clock


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


async def test_a_new_database_gets_every_migration_once(storage: Storage) -> None:
    recorder = await open_recorder(storage.settings, data_dir=storage.data_dir, clock_ms=Clock())
    rows = await recorder._backend.fetch("SELECT version, applied_ms FROM schema_version ORDER BY version")
    known = SQLITE if storage.backend == "sqlite" else POSTGRES
    assert rows == [(m.version, T0) for m in known]
    await recorder.close()
    again = await open_recorder(storage.settings, data_dir=storage.data_dir, clock_ms=Clock(T0 + 1))
    assert await again._backend.fetch("SELECT count(*) FROM schema_version") == [(len(known),)]
    await again.close()


async def test_the_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "teslalink"
    recorder = await open_recorder(StorageSettings(), data_dir=data_dir, clock_ms=Clock())
    await recorder.close()
    path = data_dir / "teslalink.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_database_newer_than_the_code_is_refused(storage: Storage) -> None:
    recorder = await open_recorder(storage.settings, data_dir=storage.data_dir, clock_ms=Clock())
    known = latest(SQLITE if storage.backend == "sqlite" else POSTGRES)
    await recorder._backend.execute(
        [("INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)", [(known + 5, T0)])]
    )
    await recorder.close()
    with pytest.raises(StorageError) as refused:
        await open_recorder(storage.settings, data_dir=storage.data_dir, clock_ms=Clock())
    line = one_line(refused.value)
    assert f"schema version {known + 5}, newer than this teslalink knows ({known})" in line
    database = storage.settings.dsn if storage.backend == "postgres" else storage.data_dir / "teslalink.db"
    assert database is not None
    with pytest.raises(StorageError, match="newer than this teslalink"):
        await open_reader(database)


@pytest.mark.parametrize("case", ["directory", "parent is a file", "not a database", "unwritable"])
async def test_a_path_that_cannot_be_a_database_is_one_line(tmp_path: Path, case: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / "teslalink.db"
    if case == "directory":
        path.mkdir()
    elif case == "parent is a file":
        (data_dir / "sub").write_text("a file")
        path = data_dir / "sub" / "teslalink.db"
    elif case == "not a database":
        path.write_bytes(b"these are not the pages you are looking for" * 100)
    else:  # a place where nobody, root included, can make a file
        path = Path("/proc/self/teslalink.db")
    with pytest.raises(StorageError) as failed:
        await open_recorder(StorageSettings(path=path), data_dir=data_dir, clock_ms=Clock())
    line = one_line(failed.value)
    assert str(path) in line
    assert "Traceback" not in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: nothing listens there


async def test_a_postgres_server_that_does_not_answer_is_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    pytest.importorskip("asyncpg")
    secret = "hunter2-s3cret"
    dsn = f"postgresql://teslalink:{secret}@127.0.0.1:{_closed_port()}/teslalink"
    with pytest.raises(StorageError) as failed:
        await open_recorder(StorageSettings(backend="postgres", dsn=dsn), data_dir=tmp_path, clock_ms=Clock())
    line = one_line(failed.value)
    assert line.startswith("cannot connect to PostgreSQL at postgresql://teslalink@127.0.0.1:")
    assert secret not in line
    assert secret not in repr(failed.value)


async def test_a_postgres_database_that_does_not_exist_is_one_line_without_the_password(
    pg_server: PgServer, tmp_path: Path
) -> None:
    secret = "correct-horse-battery"
    dsn = pg_server.dsn("no_such_database", password=secret)
    with pytest.raises(StorageError) as failed:
        await open_recorder(StorageSettings(backend="postgres", dsn=dsn), data_dir=tmp_path, clock_ms=Clock())
    line = one_line(failed.value)
    assert "no_such_database" in line
    assert secret not in line


def test_a_dsn_is_shown_without_its_password() -> None:
    assert (
        redacted_dsn("postgresql://me:pw@db.example:5433/teslalink")
        == "postgresql://me@db.example:5433/teslalink"
    )
    assert "pw" not in redacted_dsn("postgresql://db/teslalink?user=me&password=pw")
    assert "pw" not in redacted_dsn("host=db password=pw dbname=teslalink")


async def test_the_postgres_backend_without_a_dsn_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="needs a dsn"):
        await open_recorder(StorageSettings(backend="postgres"), data_dir=tmp_path, clock_ms=Clock())


async def test_a_reader_never_creates_a_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no database there"):
        await open_reader(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "empty.db").touch()
    with pytest.raises(StorageError, match="holds no teslalink records"):
        await open_reader(tmp_path / "empty.db")
