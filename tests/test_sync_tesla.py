"""The blocking `Tesla` facade against the twin (served from its own thread, as a script would meet it)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from teslalink.cloud import CloudUrls, MemoryTokenStore, TokenStore
from teslalink.errors import AuthError, CommandFailed, TokenExpired
from teslalink.simulator import World
from teslalink.simulator.cloud import Cloud, DemoAccount, populate_demo, serve_cloud
from teslalink.simulator.sso.totp import totp
from teslalink.sync import Tesla

DEMO1 = "demo1@teslalink.test"


class Twin:
    def __init__(self) -> None:
        self.world = World(seed=9, speed=0.0)
        self.accounts: list[DemoAccount] = populate_demo(self.world)
        self.cloud: Cloud | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve_cloud(self.world) as cloud:
            self.cloud = cloud
            self._ready.set()
            await self._stop.wait()

    @property
    def urls(self) -> CloudUrls:
        assert self.cloud is not None
        return CloudUrls(api=self.cloud.owner_api, sso=self.cloud.sso["na"], streaming=self.cloud.streaming)

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10)

    def stop(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def twin() -> Iterator[Twin]:
    running = Twin()
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_login_list_vehicles_and_send_a_command(twin: Twin) -> None:
    store = MemoryTokenStore()
    with Tesla(DEMO1, urls=twin.urls, store=store) as tesla:
        assert not tesla.authorized
        tesla.login("teslalink-demo-1")
        assert tesla.authorized
        (car,) = tesla.vehicle_list()
        assert car.vin == twin.accounts[0].vehicles[0].vin
        assert car["display_name"] == car.display_name
        assert car.summary()["state"] == "online"
        car.set_charge_limit(81)
        assert car.vehicle_data(["charge_state"]).charge_limit_soc == 81
        with pytest.raises(CommandFailed, match="already_set"):
            car.command("CHANGE_CHARGE_LIMIT", percent=81)
        car.lock()
        assert car.vehicle_data().locked is True
        (site,) = tesla.battery_list()
        site.set_backup_reserve(30)
        assert site.site_info().backup_reserve_percent == 30
        assert site.live_status().percentage_charged is not None
        assert any("vehicle_id" in p for p in tesla.api("PRODUCT_LIST"))
        assert "teslalink-demo-1" not in repr(tesla)


def test_tokens_persist_between_scripts_and_logout(twin: Twin, tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    with Tesla(DEMO1, urls=twin.urls, store=store) as tesla:
        tesla.login("teslalink-demo-1")
    with Tesla(DEMO1, urls=twin.urls, store=TokenStore(tmp_path / "tokens.json")) as again:
        assert len(again.vehicle_list()) == 1
        again.logout()
        with pytest.raises(TokenExpired):
            again.vehicle_list()
    assert store.identities() == []


def test_mfa_passcode_and_wrong_password(twin: Twin) -> None:
    secret = twin.accounts[1].totp_secret
    assert secret is not None
    with Tesla("demo2@teslalink.test", urls=twin.urls, store=MemoryTokenStore()) as tesla:
        with pytest.raises(AuthError):
            tesla.login("wrong-password")
        tesla.login("teslalink-demo-2", passcode=lambda: totp(secret, twin.world.now()))
        assert tesla.vehicle_list()
