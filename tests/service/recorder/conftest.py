"""The recorder's fixtures: a throwaway PostgreSQL server, and the storage to test on either database.

The server is Debian's own binaries (`/usr/lib/postgresql/*/bin`, package `postgresql`): a
cluster made by initdb in a temp dir, started on a free loopback port with its unix socket in
that dir, stopped and removed at the end of the session. initdb and the server refuse to run as
root, so as root both run as the `postgres` user (runuser) with the dir given to it. Each test
gets a database of its own. Without the binaries the PostgreSQL tests are skipped, saying so.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from teslalink.service.settings import StorageSettings

NO_SERVER = "PostgreSQL's server binaries are not installed (Debian package: postgresql)"


def _bin_dir() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None

    def major(path: str) -> int:
        part = Path(path).parent.parent.name
        return int(part) if part.isdigit() else 0

    return Path(max(found, key=major)).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    port: int
    as_user: list[str]
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def dsn(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                *self.as_user,
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-At",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,  # a hang guard
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def new_database(self, owner: str = "postgres") -> str:
        name = f"teslalink_test_{next(self._names)}"
        self.psql(f'CREATE DATABASE {name} OWNER "{owner}"')
        return name

    def drop_database(self, name: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stdout.strip()} {done.stderr.strip()}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip(NO_SERVER)
    as_user: list[str] = []
    top = Path(tempfile.mkdtemp(prefix="teslalink-pg-"))
    if os.geteuid() == 0:  # initdb and postgres refuse root: the cluster is the postgres user's
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(top)
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        os.chown(top, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data_dir = top / "data"
    server = PgServer(bin_dir, data_dir, top, _free_port(), as_user)
    try:
        _run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            "initdb",
        )  # fmt: skip
        options = f"-p {server.port} -k {top} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(top / "server.log"),
             "-w", "-t", "60", "-o", options, "start"],
            "pg_ctl start",
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(top, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server: PgServer) -> Iterator[str]:
    """A fresh database's DSN on the session's server."""
    name = pg_server.new_database()
    yield pg_server.dsn(name)
    pg_server.drop_database(name)


@dataclass
class Storage:
    """What a test opens a recorder on: the settings, the data dir, and which database it is."""

    settings: StorageSettings
    data_dir: Path
    backend: str

    def with_settings(self, **changes: object) -> StorageSettings:
        from dataclasses import replace

        return replace(self.settings, **changes)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return Storage(StorageSettings(backend="sqlite"), tmp_path / "data", "sqlite")
    dsn = request.getfixturevalue("pg_database")
    return Storage(StorageSettings(backend="postgres", dsn=dsn), tmp_path / "data", "postgres")
