"""What the recorder needs from a database, and nothing more: the seam between the two backends.

Everything that is the same for SQLite and PostgreSQL (which rows a batch writes, interning
devices and span keys, the queries, downsampling) is written once above this seam, in SQL with
`?` placeholders; a backend runs it (PostgreSQL's rewrites them to `$1, $2, ...`), each in its
own way: SQLite on one writer thread with one connection, PostgreSQL on a small asyncpg pool.

A backend's failures are `StorageError`s with one line that names the database; `RowsRefused`
says the database refused the rows themselves (a constraint, a value it cannot hold), which no
retry will change, as opposed to a database that cannot write just now (locked, full, down).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from ...errors import StorageError
from .migrations import Migration

__all__ = ["Backend", "Operation", "RowsRefused", "dollar_placeholders"]

Operation = tuple[str, Sequence[Sequence[Any]]]
"""One statement and the rows it is run for (executemany)."""


class RowsRefused(StorageError):
    """The database refused the rows of a transaction (not its availability): retrying is useless."""


class Backend(Protocol):
    @property
    def kind(self) -> Literal["sqlite", "postgres"]: ...

    @property
    def where(self) -> str:
        """The file, or the server and database without the password: for messages."""
        ...

    async def migrate(self, migrations: tuple[Migration, ...], now_ms: int) -> None:
        """Apply the migrations the database lacks (StorageError for a newer schema)."""
        ...

    async def schema_version(self) -> int | None:
        """The newest migration applied, None when the database has no schema yet."""
        ...

    async def execute(self, operations: Sequence[Operation]) -> None:
        """Run every operation in one transaction: all of it is committed or none."""
        ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query (read from committed data)."""
        ...

    async def database_bytes(self) -> int:
        """The bytes the database takes on disk now (SQLite: after a checkpoint, file + WAL)."""
        ...

    async def table_bytes(self) -> dict[str, int]:
        """The bytes each table takes, its indexes included."""
        ...

    async def close(self) -> None: ...


_QUESTION = re.compile(r"\?")


def dollar_placeholders(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (our SQL has no `?` inside a literal)."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return _QUESTION.sub(number, sql)


def schema_refusal(where: str, found: int, known: int) -> StorageError:
    return StorageError(
        f"{where}: the database is at schema version {found}, newer than this teslalink knows "
        f"({known}); upgrade teslalink to use it"
    )
