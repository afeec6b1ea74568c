"""Two processes refreshing one identity through one token file: no refresh is lost.

The twin refuses any reuse of a rotated-out refresh token here (`refresh_reuse_grace_s < 0`: replay
revokes the whole login), so a process that refreshed with a stale token would log both out. Each
child reports its token as rejected over and over; under the file lock the one that comes second
finds the other's new token and adopts it instead of refreshing.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp

from teslalink.cloud.auth import Auth
from teslalink.cloud.config import CloudUrls
from teslalink.cloud.tokens import TokenStore
from teslalink.simulator import World
from teslalink.simulator.serve import serve_cloud

EMAIL = "shared@example.com"
PASSWORD = "two processes one file"
ROUNDS = 8

CHILD = """
import asyncio, sys
from teslalink.cloud.auth import Auth
from teslalink.cloud.config import CloudUrls
from teslalink.cloud.tokens import TokenStore

async def main() -> None:
    path, sso, email, rounds = sys.argv[1:5]
    async with Auth(email, urls=CloudUrls(sso=sso), store=TokenStore(path)) as auth:
        for _ in range(int(rounds)):
            token = await auth.access_token()
            await auth.token_rejected(token)
        print(auth.refreshes)

asyncio.run(main())
"""


async def test_two_processes_share_one_token_file(tmp_path: Path) -> None:
    world = World(seed=5, speed=0, start=time.time())
    world.add_vehicle(world.add_account(EMAIL, PASSWORD))
    world.auth.refresh_reuse_grace_s = -1.0
    path = tmp_path / "tokens.json"
    async with serve_cloud(world) as cloud:
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        async with Auth(EMAIL, urls=urls, store=TokenStore(path), clock=world.now) as auth:
            await auth.login_headless(PASSWORD)
        children = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                CHILD,
                str(path),
                urls.sso,
                EMAIL,
                str(ROUNDS),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        outputs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 30)
        for child, (_out, err) in zip(children, outputs, strict=True):
            assert child.returncode == 0, err.decode()[-2000:]
        refreshes = [int(out.decode().strip()) for out, _ in outputs]
        assert ROUNDS <= sum(refreshes) <= 2 * ROUNDS
        async with Auth(EMAIL, urls=urls, store=TokenStore(path), clock=world.now) as auth:
            final = await auth.refresh()  # the stored refresh token is the live one
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    urls.api + "api/1/products", headers={"Authorization": f"Bearer {final.access_token}"}
                ) as resp,
            ):
                assert resp.status == 200
