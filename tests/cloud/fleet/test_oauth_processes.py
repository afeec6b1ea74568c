"""Fleet logins shared by processes through one token file: two refreshing at once never fork the
single-use refresh chain, and a process killed (SIGKILL) mid-refresh leaves a valid file whose
refresh token still works.

For the first test the twin retires a used refresh token at once (no 24 h grace), so a process
that refreshed with a token the other had already used would get login_required and fail.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fleet_oauth_twin import DEMO2, HANG_GUARD_S, Twin, served_twin
from teslalink.cloud.fleet.tokens import FleetToken
from teslalink.cloud.tokens import TokenStore

ROUNDS = 6

REFRESHER = """
import asyncio, sys
from teslalink.cloud.fleet.app import FleetApp
from teslalink.cloud.fleet.oauth import FleetAuth
from teslalink.cloud.tokens import TokenStore

async def main() -> None:
    app_file, token_file, email, rounds = sys.argv[1:5]
    async with FleetAuth(FleetApp.load(app_file), TokenStore(token_file), email) as auth:
        done = 0
        while rounds == "forever" or done < int(rounds):
            token = await auth.access_token()
            await auth.token_rejected(token)
            done += 1
            if rounds == "forever":
                print(done, flush=True)
        print(auth.refreshes, flush=True)

asyncio.run(main())
"""


@pytest.fixture
async def twin(tmp_path: Path) -> AsyncIterator[Twin]:
    async with served_twin(tmp_path, seed=41) as served:
        async with served.auth() as auth:
            await auth.login_headless(DEMO2, served.password(DEMO2), passcode=_passcode(served))
        served.app.save(tmp_path / "fleet.json")
        yield served


def _passcode(twin: Twin) -> str:
    from teslalink.simulator.sso.totp import totp

    secret = twin.world.account(DEMO2).mfa_secret
    assert secret is not None
    return totp(secret, twin.world.now())


async def _child(twin: Twin, rounds: str) -> asyncio.subprocess.Process:
    assert twin.store.path is not None
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        REFRESHER,
        str(twin.store.path.parent / "fleet.json"),
        str(twin.store.path),
        DEMO2,
        rounds,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_two_processes_refreshing_at_once_do_not_fork_the_chain(twin: Twin) -> None:
    twin.retire_refresh_tokens_at_once()
    children = [await _child(twin, str(ROUNDS)) for _ in range(2)]
    outputs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), HANG_GUARD_S * 2)
    for child, (_out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err.decode()[-2000:]
    refreshes = [int(out.decode().split()[-1]) for out, _ in outputs]
    assert ROUNDS <= sum(refreshes) <= 2 * ROUNDS  # some rejections were answered by the other's token
    assert twin.store.path is not None
    async with twin.auth(DEMO2) as auth:  # the file holds the live end of the chain
        final = await auth.refresh()
    status, _ = await twin.refresh_grant(str(final.refresh_token))
    assert status == 200


@pytest.mark.parametrize("delay_s", [0.0, 0.003, 0.011, 0.029])
async def test_kill_9_during_a_refresh_leaves_a_valid_file(twin: Twin, delay_s: float) -> None:
    child = await _child(twin, "forever")
    assert child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), HANG_GUARD_S)
        assert line.strip() == b"1", (await child.stderr.read()).decode()[-2000:] if child.stderr else ""
        await asyncio.sleep(delay_s)  # somewhere in the next refresh: its grant, its write
    finally:
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), HANG_GUARD_S)
    assert child.returncode == -signal.SIGKILL
    assert twin.store.path is not None
    entry = json.loads(twin.store.path.read_text())[DEMO2]["fleet"]  # whole JSON, never half a file
    stored = FleetToken.from_entry(entry, where="tokens.json", identity=DEMO2)
    assert stored.refresh_token is not None
    async with twin.auth(DEMO2) as auth:
        renewed = await auth.refresh()  # the stored refresh token (or its 24 h grace) still works
    assert renewed.refresh_token != stored.refresh_token
    assert TokenStore(twin.store.path).load_section(DEMO2, "fleet") == renewed.to_entry()
