"""TeslaPy 2.9.2, unchanged, still reads a token file that holds Fleet logins beside its own
"sso" tokens (the file layout is TeslaPy's cache; see teslalink.cloud.tokens)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fleet_oauth_twin import DEMO1, DEMO3, Twin, served_twin
from teslalink.cloud.tokens import Token

teslapy = pytest.importorskip("teslapy")


@pytest.fixture
async def twin(tmp_path: Path) -> AsyncIterator[Twin]:
    async with served_twin(tmp_path, seed=43) as served:
        yield served


async def test_teslapy_reads_the_owner_token_beside_a_fleet_login(twin: Twin) -> None:
    owner = Token(
        access_token="eyJ.owner-access.sig",
        refresh_token="NA_" + "cd" * 32,
        expires_at=time.time() + 3600,
        sso_url="https://auth.tesla.com/",
    )
    twin.store.save(DEMO1, owner)
    async with twin.auth() as auth:
        await auth.login_headless(DEMO1, twin.password(DEMO1))
    async with twin.auth() as auth:
        await auth.login_headless(DEMO3, twin.password(DEMO3))  # a Fleet-only account in the same file
    assert twin.store.path is not None
    assert set(json.loads(twin.store.path.read_text())[DEMO1]) == {"url", "sso", "fleet"}
    tesla = teslapy.Tesla(DEMO1, cache_file=str(twin.store.path))
    try:
        assert tesla.authorized
        assert tesla.token["access_token"] == owner.access_token
        assert tesla.token["refresh_token"] == owner.refresh_token
        assert tesla.expires_at == owner.expires_at
        assert tesla.sso_base_url == owner.sso_url
    finally:
        tesla.close()
    fleet_only = teslapy.Tesla(DEMO3, cache_file=str(twin.store.path))
    try:
        assert not fleet_only.authorized  # no Owner API token for it: TeslaPy would ask for a login
    finally:
        fleet_only.close()
    assert twin.store.identities() == [DEMO1]  # the Owner API's list: accounts with an "sso" token
    assert sorted(twin.store.section_identities("fleet")) == [DEMO1, DEMO3]
