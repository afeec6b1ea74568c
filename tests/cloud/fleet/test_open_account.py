"""cloud.account: which account and which API, the one rule of the CLI and the service."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_api_twin import (  # noqa: F401 - the fixtures
    FleetTwin,
    demo_fleet_world_fixture,
    first_car,
    fleet_surfaces_of_fixture,
    fleet_twin_fixture,
)
from test_account import DEMO1, Account

from teslalink import errors
from teslalink.cloud.account import account_identity, open_account, uses_fleet
from teslalink.cloud.fleet.api import FleetApi
from teslalink.cloud.tokens import Token, TokenStore


def owner_entry(store: TokenStore, email: str) -> None:
    store.save(email, Token(access_token="a", refresh_token="r", expires_at=2e9))


def test_the_only_account_is_chosen_and_none_or_several_say_what_to_do(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    with pytest.raises(errors.ConfigError, match=r"run `teslalink login --email EMAIL` first"):
        account_identity(store)
    with pytest.raises(errors.ConfigError, match=r"run `teslalink fleet login` first"):
        account_identity(store, api="fleet")
    owner_entry(store, "a@example.com")
    assert account_identity(store) == "a@example.com"
    owner_entry(store, "b@example.com")
    with pytest.raises(errors.ConfigError, match=r"2 accounts are logged in \(a@example.com, b@"):
        account_identity(store)
    assert account_identity(store, "b@example.com") == "b@example.com"


def test_auto_means_the_fleet_api_only_for_an_account_with_a_fleet_login(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    owner_entry(store, "a@example.com")
    assert uses_fleet(store) is False
    assert uses_fleet(store, api="fleet") is True
    with pytest.raises(errors.ConfigError, match="api must be one of auto, fleet, owner"):
        uses_fleet(store, api="both")


async def test_a_fleet_login_opens_the_fleet_api(fleet_twin: FleetTwin, tmp_path: Path) -> None:
    account = Account(fleet_twin, tmp_path)
    account.log_in(DEMO1)
    assert uses_fleet(account.store) is True
    async with open_account(account.store, app=account.app, environ=account.env) as api:
        assert isinstance(api, FleetApi)
        vehicle = await api.vehicle(first_car(fleet_twin).vin)
        assert vehicle.vin == first_car(fleet_twin).vin
    with pytest.raises(errors.ConfigError, match="no account is logged in"):
        async with open_account(account.store, api="owner"):
            pass
