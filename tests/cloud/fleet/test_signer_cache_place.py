"""Where a signer keeps its sessions: beside the token file when it is given (as the budget ledger
and the cooldowns), so a run with `--token-file` or TESLALINK_TOKEN_FILE (the twin, a test) never
writes into the user's real cache; the directories made for keys and sessions are owner-only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from teslalink.cloud.fleet.signer import VcpSigner
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import SessionCache, SessionState


def test_the_session_cache_lives_beside_the_token_file(tmp_path: Path) -> None:
    key = PartnerKey.generate()
    token_file = tmp_path / "run" / "cache.json"
    signer = VcpSigner.for_account(key, "me/@x.com", app_domain="app.example", token_path=token_file)
    assert signer.sessions.cache is not None
    assert signer.sessions.cache.path == tmp_path / "run" / "vcp-sessions" / "me_@x.com.json"
    elsewhere = VcpSigner.for_account(
        key, "me@x.com", app_domain="app.example", environ={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    )
    assert elsewhere.sessions.cache is not None
    assert elsewhere.sessions.cache.path == tmp_path / "cfg" / "teslalink" / "vcp-sessions" / "me@x.com.json"


def test_the_directories_made_for_keys_and_sessions_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        PartnerKey.generate().save(tmp_path / "keys" / "key.pem")
        state = SessionState(bytes(16), 1, 2, 0.0, bytes(65))
        cache = SessionCache(tmp_path / "tokens" / "vcp-sessions" / "me.json")
        cache.store("VIN1", Domain.VEHICLE_SECURITY, b"k", state)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "tokens" / "vcp-sessions").stat().st_mode) == 0o700
    assert (tmp_path / "tokens" / "vcp-sessions" / "me.json").exists()
