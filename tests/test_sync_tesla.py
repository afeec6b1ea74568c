"""The blocking `Tesla` facade against the twin (served from its own thread, as a script would meet it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from teslalink.cloud import MemoryTokenStore, TokenStore
from teslalink.errors import AuthError, CommandFailed, TokenExpired
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.demo import populate_demo
from teslalink.simulator.sso.totp import totp
from teslalink.sync import Tesla

DEMO1 = "demo1@teslalink.test"


@pytest.fixture
def twin() -> Iterator[ThreadedTwin]:
    world = World(seed=9, speed=0.0)
    with ThreadedTwin(world, accounts=populate_demo(world)) as running:
        yield running


def test_login_list_vehicles_and_send_a_command(twin: ThreadedTwin) -> None:
    store = MemoryTokenStore()
    with Tesla(DEMO1, urls=twin.urls, store=store) as tesla:
        assert not tesla.authorized
        tesla.login("teslalink-demo-1")
        assert tesla.authorized
        (car,) = tesla.vehicle_list()
        assert car.vin == twin.accounts[0].vehicles[0].vin
        assert tesla.vehicle(car.display_name.upper()).vin == car.vin  # TeslaApi.vehicle, forwarded
        assert car["display_name"] == car.display_name
        assert car.summary()["state"] == "online"
        car.set_charge_limit(81)
        assert car.vehicle_data(["charge_state"]).charge_limit_soc == 81
        again = car.command("CHANGE_CHARGE_LIMIT", percent=81)  # already so: no failure
        assert (again["result"], again.already, again.reason) == (False, True, "already_set")
        with pytest.raises(CommandFailed, match="cable_connected"):
            car.command("CHARGE_PORT_DOOR_CLOSE")
        car.lock()
        assert car.vehicle_data().locked is True
        (site,) = tesla.battery_list()
        site.set_backup_reserve(30)
        assert site.site_info().backup_reserve_percent == 30
        assert site.live_status().percentage_charged is not None
        assert any("vehicle_id" in p for p in tesla.api("PRODUCT_LIST"))
        assert "teslalink-demo-1" not in repr(tesla)


def test_tokens_persist_between_scripts_and_logout(twin: ThreadedTwin, tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    with Tesla(DEMO1, urls=twin.urls, store=store) as tesla:
        tesla.login("teslalink-demo-1")
    with Tesla(DEMO1, urls=twin.urls, store=TokenStore(tmp_path / "tokens.json")) as again:
        assert len(again.vehicle_list()) == 1
        again.logout()
        with pytest.raises(TokenExpired):
            again.vehicle_list()
    assert store.identities() == []


def test_mfa_passcode_and_wrong_password(twin: ThreadedTwin) -> None:
    secret = twin.accounts[1].totp_secret
    assert secret is not None
    with Tesla("demo2@teslalink.test", urls=twin.urls, store=MemoryTokenStore()) as tesla:
        with pytest.raises(AuthError):
            tesla.login("wrong-password")
        tesla.login("teslalink-demo-2", passcode=lambda: totp(secret, twin.world.now()))
        assert tesla.vehicle_list()


def test_every_async_method_is_there_blocking_and_a_stream_runs_for_a_while(twin: ThreadedTwin) -> None:
    car_twin = twin.accounts[0].vehicles[0]
    twin.call(car_twin.unplug)
    twin.call(lambda: car_twin.drive("loop_10km"))
    with Tesla(DEMO1, urls=twin.urls, store=MemoryTokenStore()) as tesla:
        tesla.login("teslalink-demo-1")
        (car,) = tesla.vehicle_list()
        car.speed_limit_set_limit(65)  # not spelled out in teslalink.sync: forwarded
        assert car.vehicle_data("vehicle_state").speed_limit_mode.current_limit_mph == 65
        assert isinstance(car.nearby_charging_sites(), dict)
        assert car.decode_vin()["model"]  # a plain method comes back as is
        assert car.vehicle_id == car.async_vehicle.vehicle_id  # and so does a property
        with pytest.raises(AttributeError):
            car.no_such_method()
        (site,) = tesla.battery_list()
        site.set_storm_mode(True)
        assert site.site_info().raw["user_settings"]["storm_mode_enabled"] is True
        updates: list[object] = []
        with twin.advancing(0.5, 0.01):
            stats = car.stream(updates.append, duration_s=3.0)  # two updates take ~0.1 s: room when loaded
    assert stats.updates == len(updates) >= 2
    assert stats.state.value == "stopped"
