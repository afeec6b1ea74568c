"""A 429's cooldown outlives the process: `Cooldowns` beside the token file, and `TeslaApi.vehicle()`.

A real 429 from the twin starts the first client's cooldown; a second client, made as the next
process would make it, learns it from the file and sends nothing until it has passed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import counting_down
from teslalink.cloud import CloudUrls, StaticToken, TeslaApi
from teslalink.cloud.cooldowns import COOLDOWN_FILE_NAME, Cooldowns
from teslalink.errors import ConfigError, RateLimited
from teslalink.simulator import World, serve_cloud
from teslalink.simulator.owner_api import RateLimits
from teslalink.wallconnector.client import RetryPolicy

EMAIL = "cool@teslalink.test"


@dataclass
class Env:
    world: World
    urls: CloudUrls
    token: str

    def api(self) -> TeslaApi:
        return TeslaApi(self.urls, StaticToken(self.token), retry=RetryPolicy(retries=0))

    def sent(self) -> int:
        return sum(self.world.accounting.totals.values()) + self.world.accounting.unbilled


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=5, speed=0)
    account = world.add_account(EMAIL, "pw")
    world.add_vehicle(account, display_name="Red Car", asleep=True)
    world.add_vehicle(account, display_name="Blue Car", asleep=True)
    async with serve_cloud(world, rate_limits=RateLimits(per_account_per_min=1, retry_after_s=90.0)) as cloud:
        yield Env(world, CloudUrls(api=cloud.owner_api), world.auth.issue(account)["access_token"])


async def test_a_429_cooldown_is_kept_beside_the_token_file_and_honoured_by_the_next_client(
    env: Env, tmp_path: Path
) -> None:
    cooldowns = Cooldowns.beside(tmp_path / "tokens.json")
    assert cooldowns.path == tmp_path / COOLDOWN_FILE_NAME
    started = time.time()
    async with env.api() as first, cooldowns.kept(first):
        await first.products()
        with pytest.raises(RateLimited):
            await first.products()  # the second in a minute: 429, Retry-After 90
    stored = cooldowns.read()
    assert list(stored) == [env.urls.api.split("//")[1].rstrip("/")]
    sent = env.sent()
    async with env.api() as second, cooldowns.kept(second):
        assert counting_down(second.cooldown_remaining(), 90, started)
        with pytest.raises(RateLimited):
            await second.products()
    assert env.sent() == sent  # nothing was sent by the second client
    assert cooldowns.read() == stored  # the same cooldown: not written again


def test_finished_cooldowns_are_forgotten_and_a_bad_file_means_none(tmp_path: Path) -> None:
    path = tmp_path / COOLDOWN_FILE_NAME
    now = [1_000_000.0]
    cooldowns = Cooldowns(path, clock=lambda: now[0])
    path.write_text(json.dumps({"old:443": now[0] - 5, "live:443": now[0] + 30, "bad": "x", "flag": True}))
    api = TeslaApi(CloudUrls(api="http://127.0.0.1:9/"), StaticToken("t"))
    cooldowns.apply(api)
    assert api.cooldowns().keys() == {"live:443"}
    cooldowns.keep(api)
    assert set(json.loads(path.read_text())) == {"live:443"}  # the finished one is gone
    for body in ("not json", "[1, 2]", ""):
        path.write_text(body)
        assert cooldowns.read() == {}
    os.chmod(tmp_path, 0o500)  # an unwritable directory: keeping is skipped, never an error
    try:
        api.cool_down(60, "new:443")
        cooldowns.keep(api)
    finally:
        os.chmod(tmp_path, 0o700)
    nowhere = Cooldowns.beside(None)
    nowhere.keep(api)
    assert nowhere.read() == {}


async def test_vehicle_finds_a_car_by_name_vin_or_id(env: Env) -> None:
    async with env.api() as api:
        red, blue = await api.vehicles()
        env.world.advance(60)  # the account's one call a minute
        assert (await api.vehicle("blue car")).id_s == blue.id_s
        for key in (red.vin.lower(), red.id_s, str(red.vehicle_id), " Red Car "):
            env.world.advance(60)
            assert (await api.vehicle(key)).id_s == red.id_s, key
        env.world.advance(60)
        assert (await api.vehicle()).id_s == red.id_s  # none named: the first
        env.world.advance(60)
        with pytest.raises(
            ConfigError, match=r"no car 'Green' in this account \(there is Red Car, Blue Car\)"
        ):
            await api.vehicle("Green")
