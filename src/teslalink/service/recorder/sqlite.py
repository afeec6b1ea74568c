"""The SQLite backend: one file, one writer thread with one connection, readers on their own.

Why it survives `kill -9`: the database is in WAL mode and every batch is one transaction. A
commit appends the transaction's pages to the `-wal` file with write() before it returns; with
`synchronous=NORMAL` SQLite does not fsync at each commit, but what was written is in the
operating system's page cache, which the death of our process does not touch. At the next open
SQLite replays the WAL up to its last complete commit record and ignores a torn tail, so every
committed batch is there and no part of an uncommitted one. Only a crash of the machine itself
(power, kernel) can lose the last commits before the next checkpoint's fsync, and even then the
database stays consistent; `synchronous=FULL` would fsync every batch to close that gap too,
which a logger of readings every few seconds does not need (our choice, as evcc's and Home
Assistant's recorders choose).

The writer runs on a thread of its own (`ThreadPoolExecutor(max_workers=1)`), so the event loop
never waits on disk and no two writes overlap; queries run on a second thread with a second
connection, which in WAL mode reads the last committed state without blocking the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from ...errors import StorageError
from .backend import Operation, RowsRefused, schema_refusal
from .migrations import Migration, latest

__all__ = ["SqliteBackend"]

_T = TypeVar("_T")

# The rows themselves were refused: a retry cannot help (everything else may pass: locked, full)
_REFUSALS: tuple[type[BaseException], ...] = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    OverflowError,
    UnicodeError,
    TypeError,
    ValueError,
)

_SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)"
)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class SqliteBackend:
    """A SQLite file. `open()` for the service (creates the file and its directory, 0600/0700),
    `open_reader()` for `teslalink history` (never creates or changes anything)."""

    kind: Literal["sqlite"] = "sqlite"

    def __init__(self, path: Path, *, busy_timeout_s: float, read_only: bool) -> None:
        self.path = path
        self.where = str(path)
        self._busy_timeout_ms = max(0, int(busy_timeout_s * 1000))
        self._read_only = read_only
        self._writer_thread = None if read_only else ThreadPoolExecutor(1, "teslalink-recorder-writer")
        self._reader_thread = ThreadPoolExecutor(1, "teslalink-recorder-reader")
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_s: float = 5.0) -> SqliteBackend:
        """The writable database at `path` (created with its directory when missing)."""
        backend = cls(path, busy_timeout_s=busy_timeout_s, read_only=False)
        try:
            await backend._on_writer(backend._connect_writer)
        except BaseException:
            await backend.close()
            raise
        return backend

    @classmethod
    async def open_reader(cls, path: Path, *, busy_timeout_s: float = 5.0) -> SqliteBackend:
        """The database at `path` to read; StorageError when there is no such file."""
        if not await asyncio.to_thread(path.is_file):
            raise StorageError(f"{path}: no database there")
        backend = cls(path, busy_timeout_s=busy_timeout_s, read_only=True)
        try:
            await backend._on_reader(lambda: None)
        except BaseException:
            await backend.close()
            raise
        return backend

    # --- the threads ---------------------------------------------------------------------------

    async def _on_writer(self, work: Callable[[], _T]) -> _T:
        if self._writer_thread is None:
            raise StorageError(f"{self.where}: opened to read only")
        return await self._on(self._writer_thread, work)

    async def _on_reader(self, work: Callable[[], _T]) -> _T:
        def with_reader() -> _T:
            if self._reader is None:
                self._reader = self._connect_reader()
            return work()

        return await self._on(self._reader_thread, with_reader)

    async def _on(self, thread: ThreadPoolExecutor, work: Callable[[], _T]) -> _T:
        try:
            return await asyncio.get_running_loop().run_in_executor(thread, work)
        except StorageError:
            raise
        except _REFUSALS as exc:
            raise RowsRefused(f"{self.where}: {_reason(exc)}") from None
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"{self.where}: {_reason(exc)}") from None
        except RuntimeError as exc:  # the executor was shut down: the backend is closed
            raise StorageError(f"{self.where}: {_reason(exc)}") from None

    def _connect_writer(self) -> None:
        path = self.path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except FileExistsError:
            raise StorageError(f"cannot open the database {path}: {path.parent} is not a directory") from None
        except OSError as exc:
            raise StorageError(f"cannot open the database {path}: {_reason(exc)}") from None
        try:
            # our choice: 0600, as the token files; the database holds where the car has been
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except IsADirectoryError:
            pass  # said below
        except OSError as exc:
            raise StorageError(f"cannot open the database {path}: {_reason(exc)}") from None
        if path.is_dir():
            raise StorageError(f"cannot open the database {path}: it is a directory")
        try:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the database {path}: {_reason(exc)}") from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise StorageError(f"cannot open the database {path}: it cannot use a write-ahead log")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            connection.close()
            raise StorageError(f"cannot open the database {path}: {_reason(exc)}") from None
        except BaseException:
            connection.close()
            raise
        self._writer = connection

    def _connect_reader(self) -> sqlite3.Connection:
        path = self.path
        if self._read_only:
            uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        else:
            uri = f"file:{quote(str(path.resolve()))}?mode=rw"
        try:
            connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            connection.execute("PRAGMA query_only = ON")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the database {path}: {_reason(exc)}") from None
        return connection

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            raise StorageError(f"{self.where}: the database is closed")
        return self._writer

    # --- the Backend protocol ------------------------------------------------------------------

    async def migrate(self, migrations: tuple[Migration, ...], now_ms: int) -> None:
        def run() -> None:
            connection = self._writer_connection()
            # BEGIN IMMEDIATE: a second process opening the same file at once waits its turn
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(_SCHEMA_VERSION_DDL)
                found = connection.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0
                if found > latest(migrations):
                    raise schema_refusal(self.where, found, latest(migrations))
                connection.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise
            for migration in migrations:
                if migration.version <= found:
                    continue
                connection.execute("BEGIN IMMEDIATE")
                try:
                    for statement in migration.statements:
                        connection.execute(statement)
                    connection.execute(
                        "INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)",
                        (migration.version, now_ms),
                    )
                    connection.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                    raise

        try:
            await self._on_writer(run)
        except RowsRefused as exc:  # a migration refused is no row's fault: say what it is
            raise StorageError(f"cannot migrate the database: {exc}") from None

    async def schema_version(self) -> int | None:
        def read() -> int | None:
            assert self._reader is not None
            exists = self._reader.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if exists is None:
                return None
            found = self._reader.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            return None if found is None else int(found)

        return await self._on_reader(read)

    async def execute(self, operations: Sequence[Operation]) -> None:
        def run() -> None:
            connection = self._writer_connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in operations:
                    connection.executemany(sql, rows)
                connection.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise

        await self._on_writer(run)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def read() -> list[tuple[Any, ...]]:
            assert self._reader is not None
            return [tuple(row) for row in self._reader.execute(sql, tuple(params)).fetchall()]

        return await self._on_reader(read)

    async def database_bytes(self) -> int:
        def measure() -> int:
            if self._writer is not None:
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            total = self.path.stat().st_size
            wal = self.path.with_name(self.path.name + "-wal")
            return total + (wal.stat().st_size if wal.exists() else 0)

        if self._read_only:
            return await self._on_reader(measure)
        return await self._on_writer(measure)

    async def table_bytes(self) -> dict[str, int]:
        def checkpoint() -> None:
            self._writer_connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

        def measure() -> dict[str, int]:
            assert self._reader is not None
            try:
                rows = self._reader.execute(
                    "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat AS s "
                    "LEFT JOIN sqlite_master AS m ON m.name = s.name GROUP BY 1"
                ).fetchall()
            except sqlite3.OperationalError:  # built without the dbstat table
                return {}
            return {str(name): int(size) for name, size in rows}

        if not self._read_only:
            await self._on_writer(checkpoint)
        return await self._on_reader(measure)

    async def close(self) -> None:
        def close_writer() -> None:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

        def close_reader() -> None:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

        loop = asyncio.get_running_loop()
        if self._writer_thread is not None:
            with contextlib.suppress(Exception):
                await loop.run_in_executor(self._writer_thread, close_writer)
            self._writer_thread.shutdown(wait=False)
        with contextlib.suppress(Exception):
            await loop.run_in_executor(self._reader_thread, close_reader)
        self._reader_thread.shutdown(wait=False)
