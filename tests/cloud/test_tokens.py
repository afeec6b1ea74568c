"""The token store: TeslaPy's cache layout both ways, mode 0600, corrupt files, the lock, plug-ins."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from teslalink.cloud.tokens import MemoryTokenStore, Token, TokenStore, default_token_path
from teslalink.errors import ConfigError

EMAIL = "owner@example.com"


def _token(**changes: Any) -> Token:
    values: dict[str, Any] = {
        "access_token": "eyJ.access.sig",
        "refresh_token": "NA_" + "ab" * 32,
        "id_token": "eyJ.id.sig",
        "expires_at": time.time() + 3600,
        "sso_url": "https://auth.tesla.cn/",
    }
    values.update(changes)
    return Token(**values)


def test_repr_hides_every_secret() -> None:
    token = _token()
    shown = repr(token) + str(token) + repr(TokenStore("/tmp/x.json"))
    for secret in (token.access_token, token.refresh_token, token.id_token):
        assert secret is not None
        assert secret not in shown


def test_save_load_round_trip_mode_0600_and_several_identities(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tokens.json"
    store = TokenStore(path)
    assert store.load(EMAIL) is None
    assert store.identities() == []
    first, second = _token(), _token(access_token="other", sso_url="https://auth.tesla.com/")
    store.save(EMAIL, first)
    store.save("second@example.com", second)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load(EMAIL) == first
    assert TokenStore(path).load("second@example.com") == second
    assert sorted(store.identities()) == [EMAIL, "second@example.com"]
    assert store.delete(EMAIL) is True
    assert store.delete(EMAIL) is False
    assert store.identities() == ["second@example.com"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_file_layout_is_teslapys(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    token = _token()
    TokenStore(path).save(EMAIL, token)
    data = json.loads(path.read_text())
    assert set(data) == {EMAIL}
    assert data[EMAIL]["url"] == "https://auth.tesla.cn/"
    sso = data[EMAIL]["sso"]
    assert set(sso) == {"access_token", "refresh_token", "id_token", "expires_in", "expires_at", "token_type"}
    assert sso["access_token"] == token.access_token
    assert sso["expires_at"] == token.expires_at
    assert sso["token_type"] == "Bearer"


def test_reads_a_teslapy_cache_written_by_hand_and_keeps_unknown_entries(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = {
        EMAIL: {
            "url": "https://auth.tesla.com/",
            "sso": {
                "access_token": "a.b.c",
                "refresh_token": "rt",
                "id_token": "i.d.t",
                "expires_in": 28800,
                "expires_at": 1_800_000_000.5,
                "token_type": "Bearer",
                "state": "kept",
            },
        },
        "logged-out@example.com": {"url": "https://auth.tesla.com/", "sso": {}},
        "x": {"url": "https://auth.tesla.com/", "sso": {}, "extra": [1, 2]},
    }
    path.write_text(json.dumps(cache))
    store = TokenStore(path)
    token = store.load(EMAIL)
    assert token == Token("a.b.c", "rt", "i.d.t", 1_800_000_000.5, "Bearer", "https://auth.tesla.com/")
    assert store.load("logged-out@example.com") is None
    assert store.identities() == [EMAIL]
    store.save("x", _token())
    data = json.loads(path.read_text())
    assert data[EMAIL] == cache[EMAIL]
    assert data["x"]["extra"] == [1, 2]


def test_teslapy_reads_our_file(tmp_path: Path) -> None:
    teslapy = pytest.importorskip("teslapy")
    path = tmp_path / "tokens.json"
    token = _token()
    TokenStore(path).save(EMAIL, token)
    tesla = teslapy.Tesla(EMAIL, cache_file=str(path))
    try:
        assert tesla.authorized
        assert tesla.token["access_token"] == token.access_token
        assert tesla.token["refresh_token"] == token.refresh_token
        assert tesla.expires_at == token.expires_at
        assert tesla.sso_base_url == token.sso_url
    finally:
        tesla.close()


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'["a list"]',
        b'{"owner@example.com": "a string"}',
        b'{"owner@example.com": {"url": "u", "sso": {"access_token": 5}}}',
        b'{"owner@example.com": {"url": "u", "sso": {"access_token": "a", "expires_at": "soon"}}}',
    ],
)
def test_corrupt_file_is_a_clear_error_and_is_not_overwritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    store = TokenStore(path)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        store.load(EMAIL)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        store.save(EMAIL, _token())
    with pytest.raises(ConfigError):
        store.delete(EMAIL)
    assert path.read_bytes() == content


def test_empty_file_is_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b"")
    assert TokenStore(path).load(EMAIL) is None


def test_default_path(tmp_path: Path) -> None:
    assert default_token_path({"TESLALINK_TOKEN_FILE": str(tmp_path / "t.json")}) == tmp_path / "t.json"
    assert default_token_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "teslalink" / "tokens.json"
    home = default_token_path({})
    assert home.parts[-3:] == (".config", "teslalink", "tokens.json")
    assert TokenStore(environ={"XDG_CONFIG_HOME": str(tmp_path)}).path == tmp_path / "teslalink/tokens.json"


def test_pluggable_loader_and_dumper() -> None:
    saved: list[dict[str, Any]] = []
    store = TokenStore(loader=lambda: saved[-1] if saved else {}, dumper=saved.append)
    store.save(EMAIL, _token())
    assert saved[-1][EMAIL]["sso"]["access_token"] == "eyJ.access.sig"
    assert store.load(EMAIL) == _token(expires_at=saved[-1][EMAIL]["sso"]["expires_at"])
    with pytest.raises(ConfigError):
        TokenStore(loader=dict)


def test_memory_store() -> None:
    store = MemoryTokenStore()
    token = _token()
    store.save(EMAIL, token)
    assert store.load(EMAIL) == token
    assert store.identities() == [EMAIL]
    assert "eyJ" not in repr(store)


async def test_lock_excludes_another_store_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    one, two = TokenStore(path), TokenStore(path, lock_timeout_s=0.1)
    async with one.locked():
        one.save(EMAIL, _token())  # re-entrant inside the section
        with pytest.raises(ConfigError, match="lock"):
            async with two.locked():
                pass
        with pytest.raises(ConfigError, match="lock"):
            two.save(EMAIL, _token())
    async with two.locked():
        assert two.load(EMAIL) is not None
    lock = path.with_name("tokens.json.lock")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


async def test_lock_serialises_tasks() -> None:
    store = MemoryTokenStore()
    inside = 0
    peak = 0

    async def section() -> None:
        nonlocal inside, peak
        async with store.locked():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(section() for _ in range(10)))
    assert peak == 1
