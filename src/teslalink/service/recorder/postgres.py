"""The PostgreSQL backend (asyncpg, the `postgres` extra): for many cars, or a database elsewhere.

The same logical schema as SQLite (`migrations.POSTGRES`), written by one pool connection per
batch inside one transaction. Migrations run under an advisory lock, so two services started at
once on one database do not both create the tables. The DSN may hold a password: it is never in
a message (`redacted_dsn`), and an error text that would quote it has it cut out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, Final, Literal
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import StorageError
from .backend import Operation, RowsRefused, dollar_placeholders, schema_refusal
from .migrations import Migration, latest

__all__ = ["PostgresBackend", "is_dsn", "redacted_dsn"]

_LOCK_ID: Final = 0x7465736C61_11  # pg_advisory_xact_lock's key for our migrations (our choice)
_SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_ms bigint NOT NULL)"
)
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def is_dsn(text: str) -> bool:
    """Whether `text` names a PostgreSQL server rather than a SQLite file."""
    return text.startswith(("postgresql://", "postgres://"))


def _password_of(dsn: str) -> str | None:
    try:
        parts = urlsplit(dsn)
        if parts.password:
            return parts.password
        for name, value in parse_qsl(parts.query):
            if name.lower() == "password" and value:
                return value
    except ValueError:
        pass
    found = _KEYWORD_PASSWORD.search(dsn)
    return found.group(2).strip("'") if found else None


def redacted_dsn(dsn: str) -> str:
    """The DSN without its password (`postgresql://user@host:5432/db`), for any message."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "a PostgreSQL DSN that does not parse"
    if not parts.scheme:
        return _KEYWORD_PASSWORD.sub(r"\1***", dsn)
    user = f"{parts.username}@" if parts.username else ""
    where = f"[{host}]" if ":" in host else host
    netloc = f"{user}{where}{f':{port}' if port else ''}"
    query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))


def _asyncpg() -> Any:
    try:
        import asyncpg  # noqa: PLC0415 - the optional extra, only for a PostgreSQL recorder
    except ImportError:
        raise StorageError(
            "the PostgreSQL recorder needs asyncpg: pip install 'teslalink[postgres]'"
        ) from None
    return asyncpg


class PostgresBackend:
    kind: Literal["postgres"] = "postgres"

    def __init__(self, pool: Any, dsn: str, asyncpg: Any) -> None:
        self._pool = pool
        self._password = _password_of(dsn)
        self.where = redacted_dsn(dsn)
        self._asyncpg = asyncpg
        self._statements: dict[str, str] = {}
        exceptions = asyncpg.exceptions
        self._refusals: tuple[type[BaseException], ...] = (
            exceptions.DataError,
            exceptions.IntegrityConstraintViolationError,
            exceptions._base.DataError,
            TypeError,
            ValueError,
            OverflowError,
            UnicodeError,
        )

    @classmethod
    async def open(cls, dsn: str, *, connect_timeout_s: float = 10.0, pool_size: int = 3) -> PostgresBackend:
        asyncpg = _asyncpg()
        password = _password_of(dsn)
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=1, max_size=pool_size, timeout=connect_timeout_s, command_timeout=60
            )
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            reason = _clean(exc, password) if not isinstance(exc, TimeoutError) else "no answer"
            raise StorageError(f"cannot connect to PostgreSQL at {redacted_dsn(dsn)}: {reason}") from None
        return cls(pool, dsn, asyncpg)

    def _sql(self, sql: str) -> str:
        found = self._statements.get(sql)
        if found is None:
            found = self._statements[sql] = dollar_placeholders(sql)
        return found

    def _failure(self, exc: BaseException) -> StorageError:
        reason = "no answer in time" if isinstance(exc, TimeoutError) else _clean(exc, self._password)
        if isinstance(exc, self._refusals):
            return RowsRefused(f"{self.where}: {reason}")
        return StorageError(f"{self.where}: {reason}")

    async def migrate(self, migrations: tuple[Migration, ...], now_ms: int) -> None:
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute(f"SELECT pg_advisory_xact_lock({_LOCK_ID})")
                await connection.execute(_SCHEMA_VERSION_DDL)
                found = await connection.fetchval("SELECT max(version) FROM schema_version") or 0
                if found > latest(migrations):
                    raise schema_refusal(self.where, found, latest(migrations))
                for migration in migrations:
                    if migration.version <= found:
                        continue
                    for statement in migration.statements:
                        await connection.execute(statement)
                    await connection.execute(
                        "INSERT INTO schema_version (version, applied_ms) VALUES ($1, $2)",
                        migration.version,
                        now_ms,
                    )
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(f"cannot migrate the database: {self._failure(exc)}") from None

    async def schema_version(self) -> int | None:
        try:
            exists = await self._pool.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
            if not exists:
                return None
            found = await self._pool.fetchval("SELECT max(version) FROM schema_version")
        except Exception as exc:
            raise self._failure(exc) from None
        return None if found is None else int(found)

    async def execute(self, operations: Sequence[Operation]) -> None:
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                for sql, rows in operations:
                    await connection.executemany(self._sql(sql), [tuple(row) for row in rows])
        except Exception as exc:
            raise self._failure(exc) from None

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            rows = await self._pool.fetch(self._sql(sql), *params)
        except Exception as exc:
            raise self._failure(exc) from None
        return [tuple(row) for row in rows]

    async def database_bytes(self) -> int:
        return sum((await self.table_bytes()).values())

    async def table_bytes(self) -> dict[str, int]:
        rows = await self.fetch(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema()"
        )
        return {str(name): int(size) for name, size in rows}

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), 10.0)
        except Exception:  # a pool that will not close politely is ended
            self._pool.terminate()


def _clean(exc: BaseException, password: str | None) -> str:
    """An error's text on one line, without the password even if a library quoted the DSN."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if password:
        text = text.replace(password, "***")
    return text
