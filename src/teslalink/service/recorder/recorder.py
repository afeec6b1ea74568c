"""The recorder: records in, batches committed, failures retried and reported, nothing lost quietly.

`put()` is what the engine calls for every record, on the event loop's thread: it checks and
encodes the record, queues its row and returns; it never blocks and never raises (a record that
cannot be stored is counted as rejected, with the reason kept in `last_rejected`). A writer task
commits the queue every `batch_s` seconds, or at once when `batch_records` rows wait, each batch
in one transaction. A batch whose commit fails stays in hand and is tried again with a growing
pause (1 s doubling to 60 s by default); meanwhile `status.ok` is False with the reason, which
makes the service `failing` on /health. A batch the database refuses row by row (a constraint)
is written one row at a time so only the refused rows are left out, each counted.

Replays are harmless: spans are upserted by key, samples by (device, at_ms), events by (time,
device, kind), so the same record written twice (a restart, a retried batch whose commit did
land) is one row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from ...errors import StorageError
from ..events import DeviceRef
from ..records import Record
from ..settings import StorageSettings
from ..state import PartStatus
from .backend import Backend, Operation, RowsRefused
from .codec import ValueRefused
from .downsample import downsample_table
from .pending import Pending, PendingQueue
from .reader import Reader, migrations_of
from .tables import DOWNSAMPLED, TABLE_OF, SpanKey, Table

__all__ = ["Recorder", "open_recorder"]

log = logging.getLogger("teslalink.service.recorder")

MAX_BATCH_RECORDS: Final = 5000  # one transaction at most: a long outage is caught up in steps
_DAY_MS: Final = 24 * 3600 * 1000

_UPSERT_DEVICE: Final = (
    "INSERT INTO devices (kind, ident, name) VALUES (?, ?, ?) ON CONFLICT (kind, ident) "
    "DO UPDATE SET name = CASE WHEN excluded.name = '' THEN devices.name ELSE excluded.name END"
)
_INSERT_SPAN_KEY: Final = "INSERT INTO span_keys (key) VALUES (?) ON CONFLICT (key) DO NOTHING"
_COUNTERS: Final = (
    "records_put",
    "records_committed",
    "records_queued",
    "records_rejected",
    "records_dropped",
    "records_lost",
    "batches",
    "commit_failures",
    "retries",
    "rows_downsampled",
    "last_commit_ms",
)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Recorder(Reader):
    """Writes records to one database and reads them back (`Reader`'s queries).

    Made by `open_recorder`; `close()` commits what waits and closes the database.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        clock_ms: Callable[[], int],
        batch_s: float = 2.0,
        batch_records: int = 500,
        max_queue: int = 100_000,
        downsample_after_days: float = 30.0,
        maintain_every_s: float = 3600.0,
        retry_first_s: float = 1.0,
        retry_max_s: float = 60.0,
        close_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(backend)
        self._clock_ms = clock_ms
        self._batch_s = max(0.01, batch_s)
        self._batch_records = max(1, batch_records)
        self._downsample_after_ms = int(downsample_after_days * _DAY_MS)
        self._maintain_every_s = maintain_every_s
        self._retry_first_s = retry_first_s
        self._retry_max_s = retry_max_s
        self._close_timeout_s = close_timeout_s
        self.status = PartStatus(counters=dict.fromkeys(_COUNTERS, 0))
        self.last_rejected: str | None = None  # why the last refused record was refused
        self._queue = PendingQueue(max_queue)
        self._inflight: list[Pending] = []
        self._device_ids: dict[tuple[str, str], tuple[int, str]] = {}
        self._span_ids: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._failures = 0
        self._dropped_since_ok = 0

    # --- records in ---------------------------------------------------------------------------

    def put(self, record: Record) -> None:
        """Queue `record` for the next batch. Never blocks, never raises; on the loop's thread."""
        counters = self.status.counters
        try:
            counters["records_put"] += 1
            what = type(record).__name__
            if self._closed:
                self._reject(what, "the recorder is closed")
                return
            table = TABLE_OF.get(type(record))
            if table is None:
                self._reject(what, "not a record the recorder keeps")
                return
            row = table.encode(record)
            dropped = self._queue.add(Pending(table, row, table.natural_key(row)))
            if dropped:
                counters["records_dropped"] += dropped
                self._dropped_since_ok += dropped
                if self.status.error:
                    self.status.error = self._failing_text(self.status.error)
            counters["records_queued"] = len(self._queue) + len(self._inflight)
            if len(self._queue) >= self._batch_records:
                self._wake.set()
        except ValueRefused as exc:
            self._reject(type(record).__name__, str(exc))
        except Exception as exc:  # never raise into the engine; the reason is kept
            self._reject(type(record).__name__, f"{type(exc).__name__}: {exc}")

    def _reject(self, what: str, reason: str) -> None:
        self.status.counters["records_rejected"] += 1
        self.last_rejected = f"{what}: {' '.join(reason.split())}"
        log.warning("recorder: a record was not kept (%s)", self.last_rejected)

    # --- the writer ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer task (open_recorder does)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="teslalink-recorder")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_maintenance = loop.time() + min(60.0, self._maintain_every_s)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._batch_s):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                async with self._lock:
                    await self._commit_waiting()
                if self._downsample_after_ms > 0 and loop.time() >= next_maintenance:
                    next_maintenance = loop.time() + self._maintain_every_s
                    await self._maintain()
            except StorageError:
                delay = min(self._retry_first_s * 2 ** max(0, self._failures - 1), self._retry_max_s)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stopping.wait()
            except Exception as exc:  # a bug must not end the writer: report it and go on
                self._failed(f"{type(exc).__name__}: {exc}", len(self._inflight) + len(self._queue))
                log.exception("recorder: the writer failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._retry_max_s):
                        await self._stopping.wait()

    async def _commit_waiting(self) -> None:
        """Commit the batch in hand, then what was queued when this began (under the lock)."""
        rounds = 1 + (len(self._queue) + MAX_BATCH_RECORDS - 1) // MAX_BATCH_RECORDS
        for _ in range(rounds):
            if not self._inflight:
                self._inflight = self._queue.take(MAX_BATCH_RECORDS)
            if not self._inflight:
                return
            await self._commit_inflight()

    async def _commit_inflight(self) -> None:
        batch = self._inflight
        counters = self.status.counters
        if self._failures:
            counters["retries"] += 1
        try:
            try:
                await self._resolve(batch)
                await self._backend.execute(self._operations(batch))
                committed = len(batch)
            except RowsRefused:
                committed = await self._one_by_one(batch)
        except StorageError as exc:
            self._failed(str(exc), len(batch))
            raise
        self._inflight = []
        self._failures = 0
        self._dropped_since_ok = 0
        counters["records_committed"] += committed
        counters["batches"] += 1
        counters["last_commit_ms"] = int(self._clock_ms())
        counters["records_queued"] = len(self._queue)
        self.status.ok = True
        self.status.error = None

    async def _one_by_one(self, batch: list[Pending]) -> int:
        """The database refused the batch's rows: write them one at a time, leave out the
        refused ones (counted). A failure of the database itself keeps the rest in hand."""
        committed = 0
        while batch:
            pending = batch[0]
            try:
                await self._backend.execute(self._operations([pending]))
                committed += 1
            except RowsRefused as exc:
                self._reject(pending.table.record.__name__, str(exc))
            except StorageError:
                self.status.counters["records_committed"] += committed
                raise
            batch.pop(0)
        return committed

    def _failed(self, reason: str, waiting: int) -> None:
        self._failures += 1
        counters = self.status.counters
        counters["commit_failures"] += 1
        counters["records_queued"] = len(self._queue) + len(self._inflight)
        self.status.ok = False
        self.status.error = self._failing_text(f"cannot commit {waiting} records: {' '.join(reason.split())}")
        log.warning("recorder: %s", self.status.error)

    def _failing_text(self, error: str) -> str:
        base = error.split("; ", 1)[0]
        if self._dropped_since_ok:
            return f"{base}; {self._dropped_since_ok} samples dropped (queue full)"
        return base

    async def _maintain(self) -> None:
        """Downsampling on its schedule; a failure is logged and tried at the next one (the
        samples stay as they are meanwhile, nothing is lost)."""
        try:
            await self.downsample(int(self._clock_ms()) - self._downsample_after_ms)
        except StorageError as exc:
            log.warning("recorder: downsampling failed, tried again later: %s", exc)

    # --- devices and span keys as ids --------------------------------------------------------

    async def _resolve(self, batch: Sequence[Pending]) -> None:
        """Make sure every device and span key the batch names has its id (its own transaction:
        an id nobody uses yet is harmless if the batch then fails)."""
        devices: dict[tuple[str, str], str] = {}
        keys: set[str] = set()
        for pending in batch:
            for value in pending.row:
                if isinstance(value, DeviceRef):
                    known = self._device_ids.get((value.kind.value, value.id))
                    if known is None or (value.name and value.name != known[1]):
                        devices[(value.kind.value, value.id)] = value.name or devices.get(
                            (value.kind.value, value.id), ""
                        )
                elif isinstance(value, SpanKey) and value.key not in self._span_ids:
                    keys.add(value.key)
        if not devices and not keys:
            return
        operations: list[Operation] = []
        if devices:
            operations.append(
                (_UPSERT_DEVICE, [(kind, ident, name) for (kind, ident), name in devices.items()])
            )
        if keys:
            operations.append((_INSERT_SPAN_KEY, [(key,) for key in sorted(keys)]))
        await self._backend.execute(operations)
        for chunk in _chunks(sorted({ident for _, ident in devices}), 200):
            rows = await self._backend.fetch(
                f"SELECT id, kind, ident, name FROM devices WHERE ident IN ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            for device_id, kind, ident, name in rows:
                self._device_ids[(str(kind), str(ident))] = (int(device_id), str(name))
        if len(self._span_ids) > 50_000:  # our choice: a year of keys; older ones are looked up again
            self._span_ids.clear()
        for chunk in _chunks(sorted(keys), 200):
            rows = await self._backend.fetch(
                f"SELECT id, key FROM span_keys WHERE key IN ({', '.join('?' for _ in chunk)})", chunk
            )
            for span_id, key in rows:
                self._span_ids[str(key)] = int(span_id)

    def _operations(self, batch: Sequence[Pending]) -> list[Operation]:
        by_table: dict[str, tuple[Table, list[tuple[Any, ...]]]] = {}
        for pending in batch:
            entry = by_table.setdefault(pending.table.name, (pending.table, []))
            entry[1].append(tuple(self._id_of(value) for value in pending.row))
        return [(table.upsert_sql(), rows) for table, rows in by_table.values()]

    def _id_of(self, value: Any) -> Any:
        if isinstance(value, DeviceRef):
            return self._device_ids[(value.kind.value, value.id)][0]
        if isinstance(value, SpanKey):
            return self._span_ids[value.key]
        return value

    # --- the public calls ---------------------------------------------------------------------

    async def flush(self) -> None:
        """Commit everything put before this call; StorageError if the database cannot take it
        now (the records stay queued and are tried again)."""
        async with self._lock:
            await self._commit_waiting()

    async def downsample(self, older_than_ms: int) -> int:
        """Thin the samples older than `older_than_ms` to one per 5 minutes (see `downsample`);
        returns how many rows were removed."""
        removed = 0
        async with self._lock:
            for table in DOWNSAMPLED:
                removed += await downsample_table(self._backend, table, older_than_ms)
        self.status.counters["rows_downsampled"] += removed
        return removed

    async def close(self) -> None:
        """Stop the writer, commit what waits (trying for `close_timeout_s`), close the database.

        Never raises: records that could not be committed are counted in `records_lost` and said
        in `status.error`.
        """
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._close_timeout_s
        delay = self._retry_first_s
        while True:
            try:
                await self.flush()
                break
            except StorageError:
                if loop.time() + delay > deadline:
                    lost = len(self._inflight) + len(self._queue)
                    self.status.counters["records_lost"] += lost
                    self.status.error = f"{self.status.error}; {lost} records not saved at close"
                    log.error("recorder: %s", self.status.error)
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
        await self._backend.close()


async def open_recorder(
    storage: StorageSettings, *, data_dir: Path, clock_ms: Callable[[], int], **tuning: Any
) -> Recorder:
    """Open the database `storage` names, bring its schema up to date, start the writer.

    SQLite: `storage.path` (relative to `data_dir` unless absolute), created 0600 in a 0700
    directory when missing. PostgreSQL: `storage.dsn`. A path that cannot be a database, a server
    that does not answer or a schema newer than this code is a `StorageError` (one line; a DSN is
    shown without its password). `tuning`: the `Recorder`'s keyword arguments (tests, bench).
    """
    backend: Backend
    if storage.backend == "postgres":
        if not storage.dsn:
            raise StorageError("storage: the postgres backend needs a dsn (postgresql://user@host/db)")
        from .postgres import PostgresBackend  # noqa: PLC0415 - asyncpg only for PostgreSQL

        backend = await PostgresBackend.open(storage.dsn)
    elif storage.backend == "sqlite":
        from .sqlite import SqliteBackend  # noqa: PLC0415

        path = storage.path if storage.path.is_absolute() else data_dir / storage.path
        backend = await SqliteBackend.open(path)
    else:
        raise StorageError(f"storage: no backend {storage.backend!r} (sqlite or postgres)")
    try:
        await backend.migrate(migrations_of(backend), int(clock_ms()))
    except BaseException:
        await backend.close()
        raise
    recorder = Recorder(
        backend,
        clock_ms=clock_ms,
        batch_s=storage.batch_s,
        downsample_after_days=storage.downsample_after_days,
        **tuning,
    )
    recorder.start()
    return recorder
