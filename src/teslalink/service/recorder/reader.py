"""Reading the records back: the history queries, as the record dataclasses they were written as.

The same queries serve `teslalink history` (its own connection: `open_reader`, which never
creates or changes a database) and the running service (`Recorder` is a `Reader` on the
database it writes). Spans are chosen by overlap: `since_ms` keeps every span still going at or
after it (an open one included), so a charge that began yesterday evening shows in today's list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import StorageError
from ..events import DeviceKind, Event, EventKind
from ..records import (
    ApiUsage,
    CarInfo,
    ChargeSample,
    ChargingSession,
    Drive,
    Position,
    Record,
    SiteEnergyDay,
    SiteSample,
    StateSpan,
    WallConnectorSample,
    WallConnectorSession,
)
from . import migrations
from .backend import Backend, schema_refusal
from .tables import (
    API_USAGE,
    CARS,
    CHARGE_SAMPLES,
    CHARGING_SESSIONS,
    DRIVES,
    EVENTS,
    POSITIONS,
    SITE_ENERGY_DAYS,
    SITE_SAMPLES,
    SPAN_TABLES,
    STATE_SPANS,
    WALLCONNECTOR_SAMPLES,
    WALLCONNECTOR_SESSIONS,
    Table,
)

__all__ = ["Reader", "open_reader"]


def _marks(count: int) -> str:
    return ", ".join("?" for _ in range(count))


@dataclass
class _Where:
    """A query's conditions and their parameters, built clause by clause."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, value: Any) -> None:
        """`clause` with one `?` for `value`, unless `value` is None (no condition)."""
        if value is not None:
            self.clauses.append(clause)
            self.params.append(value)

    def within(self, column: str, ids: Sequence[Any]) -> None:
        self.clauses.append(f"{column} IN ({_marks(len(ids))})")
        self.params += ids


def migrations_of(backend: Backend) -> tuple[migrations.Migration, ...]:
    return migrations.POSTGRES if backend.kind == "postgres" else migrations.SQLITE


class Reader:
    """Queries over one database. Times are epoch ms; `car` is a VIN or a car's name (any case)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def where(self) -> str:
        """The database, for messages: its file, or its server without the password."""
        return self._backend.where

    async def find_cars(self, car: str) -> list[int]:
        """The ids of the cars whose VIN or name is `car` (case-insensitive)."""
        rows = await self._backend.fetch(
            "SELECT id FROM devices WHERE kind = ? AND (upper(ident) = upper(?) OR lower(name) = lower(?))",
            (DeviceKind.CAR.value, car, car),
        )
        return [int(row[0]) for row in rows]

    async def device_names(self) -> dict[tuple[DeviceKind, str], str]:
        """Every device's name by (kind, id): what `history` shows instead of a VIN or serial."""
        rows = await self._backend.fetch("SELECT kind, ident, name FROM devices", ())
        return {(DeviceKind(kind), str(ident)): str(name) for kind, ident, name in rows if name}

    async def _device_id(self, kind: DeviceKind, ident: str) -> int | None:
        rows = await self._backend.fetch(
            "SELECT id FROM devices WHERE kind = ? AND ident = ?", (kind.value, ident)
        )
        return int(rows[0][0]) if rows else None

    async def _select(self, table: Table, where: Sequence[str], params: Sequence[Any]) -> list[Any]:
        rows = await self._backend.fetch(table.select_sql(" AND ".join(where)), params)
        return [table.decode(row) for row in rows]

    async def _where(self, table: Table, where: _Where) -> list[Any]:
        return await self._select(table, where.clauses, where.params)

    async def _spans(
        self, table: Table, since_ms: int | None, until_ms: int | None, car: str | None
    ) -> list[Any]:
        where = _Where()
        where.add("(t.end_ms IS NULL OR t.end_ms >= ?)", since_ms)
        where.add("t.start_ms < ?", until_ms)
        if car is not None:
            ids = await self.find_cars(car)
            if not ids:
                return []
            where.within("t.car", ids)
        return await self._where(table, where)

    async def _samples(
        self, table: Table, kind: DeviceKind, ident: str, since_ms: int | None, until_ms: int | None
    ) -> list[Any]:
        device = await self._device_id(kind, ident)
        if device is None:
            return []
        where = _Where()
        where.add(f"t.{table.device} = ?", device)
        where.add("t.at_ms >= ?", since_ms)
        where.add("t.at_ms < ?", until_ms)
        return await self._where(table, where)

    # --- spans --------------------------------------------------------------------------------

    async def states(
        self, since_ms: int | None = None, car: str | None = None, until_ms: int | None = None
    ) -> list[StateSpan]:
        return await self._spans(STATE_SPANS, since_ms, until_ms, car)

    async def drives(
        self, since_ms: int | None = None, car: str | None = None, until_ms: int | None = None
    ) -> list[Drive]:
        return await self._spans(DRIVES, since_ms, until_ms, car)

    async def charges(
        self, since_ms: int | None = None, car: str | None = None, until_ms: int | None = None
    ) -> list[ChargingSession]:
        return await self._spans(CHARGING_SESSIONS, since_ms, until_ms, car)

    async def sessions(
        self, since_ms: int | None = None, car: str | None = None, until_ms: int | None = None
    ) -> list[WallConnectorSession]:
        """Wall Connector sessions; `car` keeps those of that car."""
        return await self._spans(WALLCONNECTOR_SESSIONS, since_ms, until_ms, car)

    async def open_spans(self) -> list[Record]:
        """Every span still open (`end_ms` None): what the engine continues after a restart."""
        found: list[Record] = []
        for table in SPAN_TABLES:
            found += await self._select(table, ["t.end_ms IS NULL"], ())
        return found

    # --- samples ------------------------------------------------------------------------------

    async def positions(
        self, vin: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[Position]:
        return await self._samples(POSITIONS, DeviceKind.CAR, vin, since_ms, until_ms)

    async def charge_samples(
        self, vin: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[ChargeSample]:
        return await self._samples(CHARGE_SAMPLES, DeviceKind.CAR, vin, since_ms, until_ms)

    async def wallconnector_samples(
        self, serial: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[WallConnectorSample]:
        return await self._samples(
            WALLCONNECTOR_SAMPLES, DeviceKind.WALL_CONNECTOR, serial, since_ms, until_ms
        )

    async def site_samples(
        self, site_id: str, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[SiteSample]:
        return await self._samples(SITE_SAMPLES, DeviceKind.SITE, site_id, since_ms, until_ms)

    # --- energy sites' days ---------------------------------------------------------------------

    async def find_sites(self, site: str) -> list[int]:
        """The ids of the energy sites whose energy_site_id or name is `site` (case-insensitive)."""
        rows = await self._backend.fetch(
            "SELECT id FROM devices WHERE kind = ? AND (ident = ? OR lower(name) = lower(?))",
            (DeviceKind.SITE.value, site.strip(), site.strip()),
        )
        return [int(row[0]) for row in rows]

    async def site_energy_days(
        self, since_day: str | None = None, site: str | None = None, until_day: str | None = None
    ) -> list[SiteEnergyDay]:
        """Each site's daily energies, by day then site; `since_day`/`until_day` ("2026-06-01")
        keep the days on or after / before them; `site` is an energy_site_id or a site's name."""
        where = _Where()
        where.add("t.day >= ?", since_day)
        where.add("t.day < ?", until_day)
        if site is not None:
            ids = await self.find_sites(site)
            if not ids:
                return []
            where.within("t.site", ids)
        return await self._where(SITE_ENERGY_DAYS, where)

    async def last_site_day(self, site_id: str) -> SiteEnergyDay | None:
        """The newest day recorded for the site `site_id` (its energy_site_id), None if none is:
        where the service's daily history read goes on from after a restart."""
        device = await self._device_id(DeviceKind.SITE, site_id)
        if device is None:
            return None
        found = await self._select(
            SITE_ENERGY_DAYS,
            ["t.site = ?", "t.day = (SELECT max(day) FROM site_energy_days WHERE site = ?)"],
            (device, device),
        )
        return found[0] if found else None

    # --- the rest -----------------------------------------------------------------------------

    async def events(
        self,
        since_ms: int | None = None,
        car: str | None = None,
        until_ms: int | None = None,
        kinds: Sequence[EventKind] = (),
    ) -> list[Event]:
        """Events in time order; `car` keeps that car's own events."""
        where = _Where()
        where.add("t.at_ms >= ?", since_ms)
        where.add("t.at_ms < ?", until_ms)
        if car is not None:
            ids = await self.find_cars(car)
            if not ids:
                return []
            where.within("t.device", ids)
        if kinds:
            where.within("t.kind", [EventKind(kind).value for kind in kinds])
        return await self._where(EVENTS, where)

    async def cars(self) -> list[CarInfo]:
        return await self._select(CARS, [], ())

    async def api_usage(self, account: str | None = None, month: str | None = None) -> list[ApiUsage]:
        where: list[str] = []
        params: list[Any] = []
        if account is not None:
            where.append("d_account.ident = ?")
            params.append(account)
        if month is not None:
            where.append("t.month = ?")
            params.append(month)
        rows = await self._backend.fetch(
            API_USAGE.select_sql(" AND ".join(where), order="t.month, d_account.ident, t.category"), params
        )
        return [API_USAGE.decode(row) for row in rows]

    # --- the database -------------------------------------------------------------------------

    async def database_bytes(self) -> int:
        """What the database takes on disk (SQLite: after a checkpoint, the file and its WAL)."""
        return await self._backend.database_bytes()

    async def table_bytes(self) -> dict[str, int]:
        """The bytes of each table with its indexes (for the storage benchmark)."""
        return await self._backend.table_bytes()

    async def close(self) -> None:
        await self._backend.close()


async def open_reader(database: str | Path) -> Reader:
    """The database to read: a SQLite file, or a `postgresql://` DSN.

    StorageError (one line) when there is no database, it holds no teslalink records, or its
    schema is not this teslalink's; never creates or changes anything.
    """
    from .postgres import PostgresBackend, is_dsn  # noqa: PLC0415 - asyncpg only for a DSN
    from .sqlite import SqliteBackend  # noqa: PLC0415

    backend: Backend
    if isinstance(database, str) and is_dsn(database):
        backend = await PostgresBackend.open(database, pool_size=1)
    else:
        backend = await SqliteBackend.open_reader(await asyncio.to_thread(Path(database).resolve))
    try:
        found = await backend.schema_version()
        known = migrations.latest(migrations_of(backend))
        if found is None:
            raise StorageError(f"{backend.where}: holds no teslalink records (no schema yet)")
        if found > known:
            raise schema_refusal(backend.where, found, known)
        if found < known:
            raise StorageError(
                f"{backend.where}: the database is at schema version {found}; "
                f"`teslalink serve` upgrades it to {known} when it starts"
            )
    except BaseException:
        await backend.close()
        raise
    return Reader(backend)
