"""Token files that are not plain files: a symlink (written through, one lock) and a FIFO (refused).

The symlink case runs against the twin's SSO with refresh-token rotation on: two stores sharing
one TeslaPy cache, one through a link, refresh in turn, and neither ever presents a retired
refresh token (which the twin, like Tesla, answers by logging the user out).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from test_auth import NA, PASSWORD, Twin, products_status

from teslalink.cloud.config import CloudUrls
from teslalink.cloud.tokens import Token, TokenStore
from teslalink.errors import ConfigError
from teslalink.simulator import World
from teslalink.simulator.faults import Faults
from teslalink.simulator.serve import serve_cloud

START = 1_750_000_000.0


@pytest.fixture
async def twin() -> AsyncIterator[Twin]:
    world = World(seed=17, speed=0, start=START)
    world.add_vehicle(world.add_account(NA, PASSWORD))
    async with serve_cloud(world, faults=Faults()) as cloud:
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        yield Twin(world, cloud, urls)


def linked_stores(tmp_path: Path) -> tuple[TokenStore, TokenStore, Path]:
    real = tmp_path / "teslapy" / "cache.json"
    real.parent.mkdir()
    link = tmp_path / "teslalink" / "tokens.json"
    link.parent.mkdir()
    link.symlink_to(real)
    return TokenStore(real, lock_timeout_s=0.2), TokenStore(link, lock_timeout_s=0.2), link


async def test_a_symlinked_file_is_written_through_and_never_replays(twin: Twin, tmp_path: Path) -> None:
    direct, linked, link = linked_stores(tmp_path)
    async with twin.auth(store=direct) as first, twin.auth(store=linked) as second:
        await first.login_headless(PASSWORD)
        for turn in range(6):
            auth = second if turn % 2 == 0 else first
            await auth.refresh()  # a TokenExpired (login_required) here would be a replay
            twin.world.advance(60)  # past the twin's 30-s reuse grace: a replay would be caught
            assert link.is_symlink()
            token = direct.load(NA)
            assert token is not None
            assert token == linked.load(NA)
        assert await products_status(twin, token.access_token) == 200
    assert sorted(p.name for p in link.parent.iterdir()) == [
        "tokens.json"
    ]  # no lock, no file beside the link


async def test_both_paths_share_one_lock(tmp_path: Path) -> None:
    direct, linked, _ = linked_stores(tmp_path)
    token = Token(access_token="a", refresh_token="r", expires_at=time.time() + 3600)
    async with direct.locked():
        with pytest.raises(ConfigError, match="held the token lock"):
            linked.save(NA, token)
    linked.save(NA, token)
    assert direct.load(NA) == token


@contextlib.contextmanager
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO as the token file; afterwards a reader stuck on it (the bug) is let go."""
    path = tmp_path / "tokens.json"
    os.mkfifo(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):  # ENXIO when nobody is reading: the good case
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_a_fifo_token_file_is_refused_at_once(tmp_path: Path) -> None:
    with fifo(tmp_path) as path:
        outcome: list[BaseException | None] = []

        def load() -> None:
            try:
                TokenStore(path).load(NA)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        reader = threading.Thread(target=load, daemon=True)
        reader.start()
        reader.join(10)  # only a guard against the hang
        assert outcome, "reading a FIFO token file hung"
    assert isinstance(outcome[0], ConfigError)
    assert str(outcome[0]) == f"{path}: the token file is a FIFO, not a regular file; give the path of a file"


def test_a_fifo_token_file_is_one_line_in_the_cli(tmp_path: Path) -> None:
    with fifo(tmp_path) as path:
        done = subprocess.run(
            [sys.executable, "-m", "teslalink", "vehicles", "--email", NA, "--token-file", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "TESLALINK_API_URL": "http://127.0.0.1:1/"},
        )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: {path}: the token file is a FIFO, not a regular file; give the path of a file"
    ]
