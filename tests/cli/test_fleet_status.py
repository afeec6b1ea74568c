"""`teslalink fleet status` against the served Fleet twin: each part read on its own, the one-line
reason of a part that cannot be read, the exit code (0 only when signed commands can run), the
budget from the ledger, and no secret or token in the output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import Result
from fleet_cli_twin import (  # noqa: F401 - fixtures
    DEMO1,
    FleetTwin,
    error_line,
    fleet_twin_fixture,
    invoke,
    use_demo_app,
    use_demo_app_with_a_login,
)

from teslalink.cloud.fleet.app import default_app_path
from teslalink.cloud.fleet.ledger import BudgetLedger
from teslalink.cloud.tokens import default_token_path
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator.fleet import DEMO_APP, fleet_state

DEMO2 = "demo2@teslalink.test"


def status(*args: str) -> Result:
    return invoke("status", *args)


def as_json(result: Result) -> dict[str, object]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def no_secrets(result: Result) -> None:
    token_file = default_token_path()
    stored = json.loads(token_file.read_text()) if token_file.exists() else {}
    secrets = [DEMO_APP.client_secret]
    for entry in stored.values():
        fleet = entry.get("fleet", {})
        secrets += [fleet[name] for name in ("access_token", "refresh_token", "id_token") if fleet.get(name)]
    if os.environ.get("TESLALINK_FLEET_ACCESS_TOKEN"):
        secrets.append(os.environ["TESLALINK_FLEET_ACCESS_TOKEN"])
    for secret in secrets:
        assert secret not in result.output


def test_a_paired_car_and_everything_in_place_is_exit_0(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    vin = fleet_twin.vin()
    assert fleet_twin.approve(vin) == 200
    result = status()
    assert result.exit_code == 0, result.output
    out = result.stdout
    key_hex = PartnerKey.load(fleet_twin.key_file).public_hex()
    assert f"  client id: {DEMO_APP.client_id}" in out
    assert "  client secret: set" in out
    assert f"  domain: {DEMO_APP.domain}" in out
    assert f"  key file: {fleet_twin.key_file} (public key {key_hex})" in out
    assert f"  fleet.json: {default_app_path()} (not there: the settings come from the environment)" in out
    assert f"  your region: na at {fleet_twin.urls.api['na']} (users/region)" in out
    for region in ("na", "eu", "cn"):
        assert f"  registration {region}: registered {DEMO_APP.domain}; Tesla holds our key" in out
    assert f"  account: {DEMO1}" in out
    assert "  scopes: openid, offline_access, user_data, vehicle_device_data, vehicle_location," in out
    assert "; renewed with its refresh token" in out
    assert "missing scopes" not in out
    assert f"  {vin}: paired" in out
    assert "  data: 0 calls, $0" in out
    assert out.strip().endswith("ready for signed commands")
    no_secrets(result)


def test_json_says_the_same_and_never_holds_a_secret(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    vin = fleet_twin.vin()
    result = status("--json")
    assert "not ready for signed commands: the pairing of" in error_line(result)
    data = as_json(result)
    assert data["ready"] is False
    assert data["missing"] == [f"the pairing of {vin}"]
    app = data["app"]
    assert isinstance(app, dict)
    assert app["client_secret_set"] is True
    assert "client_secret" not in app
    assert app["public_key_hex"] == PartnerKey.load(fleet_twin.key_file).public_hex()
    login = data["login"]
    assert isinstance(login, dict)
    assert login["account"] == DEMO1
    assert login["region"] == "na"
    assert "vehicle_cmds" in login["scopes"]
    assert login["renewable"] is True
    cars = data["cars"]
    assert isinstance(cars, dict)
    link = f"{fleet_twin.urls.pairing_url}{DEMO_APP.domain}?vin={vin}"
    assert cars["vehicles"] == [
        {
            "vin": vin,
            "paired": False,
            "pairing_link": link,
            "firmware_version": cars["vehicles"][0]["firmware_version"],
            "vehicle_command_protocol_required": True,
        }
    ]
    regions = data["regions"]
    assert isinstance(regions, dict)
    assert regions["user_region"] == "na"
    assert {r["status"] for r in regions["registration"].values()} == {"registered"}
    assert all(part["error"] is None for part in data.values() if isinstance(part, dict))
    no_secrets(result)


def test_an_unpaired_car_gets_its_link_and_exit_1(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch, DEMO2)  # eu
    vin = fleet_twin.vin(DEMO2)
    result = status()
    assert error_line(result) == f"Error: not ready for signed commands: the pairing of {vin}"
    assert (
        f"  {vin}: not paired: open {fleet_twin.urls.pairing_url}{DEMO_APP.domain}?vin={vin}" in result.stdout
    )
    assert f"  your region: eu at {fleet_twin.urls.api['eu']} (users/region)" in result.stdout
    no_secrets(result)


def test_without_a_login_the_other_parts_still_print(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    monkeypatch.delenv("TESLALINK_FLEET_ACCESS_TOKEN")
    result = status()
    line = error_line(result)
    assert line == "Error: not ready for signed commands: a Fleet login"
    out = result.stdout
    assert (
        "login: cannot be read: no account is logged in to the Fleet API: run `teslalink fleet login`" in out
    )
    assert "cars: cannot be read: needs a Fleet login" in out
    assert "budget: cannot be read: kept per stored login" in out
    assert f"  client id: {DEMO_APP.client_id}" in out
    assert "  registration na: registered" in out  # the partner side needs no login
    assert "  your region: unknown without a Fleet login" in out


def test_without_the_secret_the_registration_is_not_checked(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)  # with demo1's access token as the override
    monkeypatch.delenv("TESLALINK_FLEET_CLIENT_SECRET")
    assert fleet_twin.approve(fleet_twin.vin()) == 200
    result = status()
    assert result.exit_code == 0, result.output
    assert "  client secret: not set (partner calls and the login need it)" in result.stdout
    assert (
        "  registration: not checked: the client secret is not set (a partner token needs it)"
        in result.stdout
    )
    assert "(the token given)" in result.stdout
    no_secrets(result)


def test_a_missing_scope_is_named_and_signed_commands_need_vehicle_cmds(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    relogin = invoke("login", "--headless", *fleet_twin.sign_in_args(DEMO1, "vehicle_device_data"))
    assert relogin.exit_code == 0, relogin.output
    assert fleet_twin.approve(fleet_twin.vin()) == 200
    result = status()
    assert error_line(result) == "Error: not ready for signed commands: the vehicle_cmds scope"
    assert "  missing scopes: vehicle_cmds (vehicle commands); " in result.stdout
    assert "vehicle_location (the car's location)" in result.stdout


def test_the_budget_comes_from_the_ledger_with_the_discount_apart(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    ledger = BudgetLedger.beside(default_token_path())
    ledger.record(DEMO1, "data", 3)
    ledger.record(DEMO1, "commands", 2)
    ledger.record(DEMO1, "wakes", 1)
    ledger.record("someone-else@example.com", "wakes", 100)
    result = status("--json")
    budget = as_json(result)["budget"]
    assert isinstance(budget, dict)
    assert budget["counts"] == {"data": 3, "commands": 2, "wakes": 1, "signals": 0}
    assert budget["cost_usd"] == {"data": 0.006, "commands": 0.002, "wakes": 0.02, "signals": 0.0}
    assert budget["total_usd"] == 0.028
    assert budget["monthly_discount_usd"] == 10.0
    assert budget["discount_used_usd"] == 0.028
    assert budget["due_usd"] == 0.0
    text = status().stdout
    assert "  wakes: 1 calls, $0.0200" in text
    assert "  cost: $0.0280 at Tesla's prices, before the discount" in text
    assert "  discount: Tesla's $10.00 a month covers $0.0280; due after it: $0" in text


def test_a_broken_app_file_is_one_line_and_the_environment_still_serves(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    assert fleet_twin.approve(fleet_twin.vin()) == 200
    app_file = tmp_path / "fleet.json"
    app_file.write_text("{not json")
    result = status("--app-file", str(app_file))
    assert result.exit_code == 0, result.output  # the environment holds the whole app
    reason = f"{app_file}: the Fleet app configuration is not valid JSON"
    assert f"  fleet.json: {app_file} (there, but {reason})" in result.stdout
    assert app_file.read_text() == "{not json"


def test_a_broken_ledger_is_said_and_nothing_billable_is_sent(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    assert fleet_twin.approve(fleet_twin.vin()) == 200
    ledger = BudgetLedger.beside(default_token_path()).path
    ledger.write_text("not a ledger")
    result = status()
    why = f"{ledger}: not a Fleet budget ledger (kept as it is: move it away to start a new one)"
    assert f"budget: cannot be read: {why}" in result.stdout
    assert f"cars: cannot be read: {why}" in result.stdout  # FleetApi checks its ledger before sending
    assert error_line(result) == "Error: not ready for signed commands: the cars' pairing"
    assert f"  account: {DEMO1}" in result.stdout  # the other parts still print
    assert "  registration na: registered" in result.stdout
    assert ledger.read_text() == "not a ledger"  # kept as it was


def test_an_app_not_registered_in_the_accounts_region(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    fleet_twin.twin.call(fleet_state(fleet_twin.world).registrations["na"].pop, DEMO_APP.client_id)
    result = status()
    line = error_line(result)
    assert "the cars' pairing" in line
    assert "the app's registration with our key in na" in line
    hint = "the app is not registered in na: register the app in na: teslalink fleet register --domain "
    hint += DEMO_APP.domain
    assert f"cars: cannot be read: {hint}" in result.stdout
    assert (
        "  registration na: app.teslalink.test is not registered; run `teslalink fleet register`"
        in result.stdout
    )
    assert "  registration eu: registered" in result.stdout


def test_another_key_in_the_key_file_is_no_registration_with_our_key(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    PartnerKey.generate().save(fleet_twin.key_file)
    result = status("--json")
    missing = as_json(result)["missing"]
    assert isinstance(missing, list)
    assert "the app's registration with our key in na" in missing
    assert "registered, but Tesla holds the key" in result.stdout


def test_logout_forgets_the_fleet_login_only(fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    token_file = default_token_path()
    stored = json.loads(token_file.read_text())
    stored[DEMO1]["sso"] = {"access_token": "owner-api-token-kept", "refresh_token": "r", "expires_in": 1}
    token_file.write_text(json.dumps(stored))
    result = invoke("logout")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Forgot the Fleet login of {DEMO1}.")
    assert "https://auth.tesla.com/user/revoke/consent" in result.stdout
    after = json.loads(token_file.read_text())
    assert "fleet" not in after[DEMO1]
    assert after[DEMO1]["sso"]["access_token"] == "owner-api-token-kept"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert "no account is logged in to the Fleet API" in error_line(invoke("logout"))
    assert "has no Fleet login here" in error_line(invoke("logout", "--email", DEMO1, "--json"))
    assert "login: cannot be read: no account is logged in to the Fleet API" in status().stdout


def test_a_given_token_that_is_not_a_jwt_is_one_line_without_it(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    monkeypatch.setenv("TESLALINK_FLEET_ACCESS_TOKEN", "not-a-jwt-but-secret-4242")
    result = status()
    assert "login: cannot be read: the Fleet access token is not a JWT" in result.stdout
    assert "cars: cannot be read: needs a Fleet login" in result.stdout
    assert error_line(result) == "Error: not ready for signed commands: a Fleet login"
    assert "not-a-jwt-but-secret-4242" not in result.output
