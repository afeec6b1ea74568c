"""`teslalink fleet key|register|pair|setup` against the served Fleet twin: what is written, what
the user reads (one line per error, exit codes 0/1/2, no secrets), and what changes at the twin."""

from __future__ import annotations

import json
import os
import sys
import threading
import webbrowser
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fleet_cli_twin import (  # noqa: F401 - fixtures
    DEMO1,
    HANG_GUARD_S,
    OWN_APP,
    FleetTwin,
    error_line,
    fleet_twin_fixture,
    invoke,
    use_demo_app,
    use_demo_app_with_a_login,
    use_own_app,
)

from fleet_oauth_twin import free_port
from teslalink.cli.main import cli
from teslalink.cloud.tokens import default_token_path
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator.fleet import DEMO_APP, fleet_state

# --- key -------------------------------------------------------------------------------------------


def test_key_create_writes_an_owner_only_key_atomically_and_never_over_one(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = invoke("key", "create")
    assert created.exit_code == 0, created.output
    path = fleet_twin.key_file
    assert path.stat().st_mode & 0o777 == 0o600
    key = PartnerKey.load(path)
    assert key.public_hex() in created.stdout
    assert "https://<your domain>/.well-known/" in created.stdout  # no domain configured yet
    assert os.listdir(path.parent) == [path.name]  # no temporary file left beside it
    before = path.read_bytes()
    line = error_line(invoke("key", "create"))
    assert "exists" in line
    assert "--force" in line
    assert path.read_bytes() == before
    monkeypatch.setenv("TESLALINK_FLEET_DOMAIN", "app.example.net")
    replaced = invoke("key", "create", "--force")
    assert replaced.exit_code == 0, replaced.output
    assert "https://app.example.net/.well-known/appspecific/com.tesla.3p.public-key.pem" in replaced.stdout
    assert PartnerKey.load(path) != key
    assert path.stat().st_mode & 0o777 == 0o600


def test_key_show_prints_the_public_pem_and_the_point(fleet_twin: FleetTwin) -> None:
    key = PartnerKey.generate()
    key.save(fleet_twin.key_file)
    shown = invoke("key", "show", "--domain", "own.example")
    assert shown.exit_code == 0, shown.output
    assert "https://own.example/.well-known/appspecific/com.tesla.3p.public-key.pem" in shown.stdout
    assert key.public_pem() in shown.stdout
    assert key.public_hex() in shown.stdout
    assert "PRIVATE" not in shown.stdout
    pem_only = invoke("key", "show", "--pem")
    assert pem_only.stdout == key.public_pem()
    as_json = json.loads(invoke("key", "show", "--json").stdout)
    assert as_json["public_key_hex"] == key.public_hex()
    assert as_json["public_pem"] == key.public_pem()


def test_corrupt_foreign_and_missing_key_files_are_one_line(fleet_twin: FleetTwin) -> None:
    path = fleet_twin.key_file
    assert "fleet key create" in error_line(invoke("key", "show"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    assert "is not a PEM private key" in error_line(invoke("key", "show"))
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(p384)
    assert "P-256" in error_line(invoke("key", "show"))
    assert path.read_bytes() == p384  # nothing replaced


# --- register --------------------------------------------------------------------------------------


def test_register_registers_in_every_region_with_our_key(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_own_app(monkeypatch)
    assert invoke("key", "create").exit_code == 0
    fleet_twin.publish(invoke("key", "show", "--pem").stdout)
    result = invoke("register")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["[done] na", "[done] eu", "[done] cn"]
    assert OWN_APP.client_secret not in result.output
    ours = PartnerKey.load(fleet_twin.key_file).public_bytes()
    for region in ("na", "eu", "cn"):
        registration = fleet_twin.twin.call(
            fleet_state(fleet_twin.world).registration, region, OWN_APP.client_id
        )
        assert registration is not None
        assert registration.public_key == ours


def test_register_without_the_published_key_says_where_to_publish_it(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_own_app(monkeypatch)
    assert invoke("key", "create").exit_code == 0
    result = invoke("register", "--json")
    line = error_line(result)
    assert "not registered with our key in na, eu, cn (see above); China needs its own app" in line
    reported = json.loads(result.stdout)
    assert [r["status"] for r in reported] == ["refused"] * 3
    assert all("https://own.example/.well-known/appspecific/" in r["detail"] for r in reported)
    assert OWN_APP.client_secret not in result.output


def test_register_with_a_domain_not_the_apps_or_another_key(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_own_app(monkeypatch)
    assert invoke("key", "create").exit_code == 0
    fleet_twin.publish(PartnerKey.generate().public_pem())  # the domain still serves an old key
    mismatch = invoke("register", "--region", "eu")
    error_line(mismatch)
    assert "[failed] eu: registered, but Tesla holds the key" in mismatch.stdout
    wrong_domain = invoke("register", "--region", "na", "--domain", "other.example")
    error_line(wrong_domain)
    assert "other.example is not this app's domain" in wrong_domain.stdout


def test_register_without_settings_is_a_usage_error(fleet_twin: FleetTwin) -> None:
    line = error_line(invoke("register"), code=2)
    assert "TESLALINK_FLEET_CLIENT_ID" in line
    line = error_line(invoke("register", "--client-id", "x", "--client-secret", "y"), code=2)
    assert "--domain" in line


# --- pair --------------------------------------------------------------------------------------


def test_pair_prints_the_link_a_qr_code_and_the_owner_rule(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segno

    use_demo_app(fleet_twin, monkeypatch)
    vin = fleet_twin.vin()
    result = invoke("pair", "--timeout", "0")
    line = error_line(result)
    assert f"{vin} is not paired after 0 s" in line
    link = f"{fleet_twin.urls.pairing_url}{DEMO_APP.domain}?vin={vin}"
    assert f"pairing link: {link}" in result.stdout
    expected = segno.make(link, error="m")
    rows = [row for row in result.stdout.splitlines() if row and set(row) <= set(" \u2580\u2584\u2588")]
    assert len(rows) == (expected.symbol_size()[1] + 1) // 2  # two modules a row, half blocks
    assert "only the owner account can pair" in result.stdout
    assert "do not work over Bluetooth (BLE)" in result.stdout
    assert os.environ["TESLALINK_FLEET_ACCESS_TOKEN"] not in result.output
    assert "\x1b" not in result.stdout


def test_pair_waits_until_the_owner_approves(fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    vin = fleet_twin.vin()
    approved: list[int] = []
    approver = threading.Timer(0.5, lambda: approved.append(fleet_twin.approve(vin)))
    approver.start()
    try:
        result = invoke("pair", "--vehicle", vin, "--timeout", "120")
    finally:
        approver.join(30)
    assert approved == [200]
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f"{vin} is paired with the key of {DEMO_APP.domain}")
    assert PartnerKey.load(fleet_twin.key_file).public_bytes() in fleet_twin.paired(vin)
    again = invoke("pair", "--vehicle", vin.lower())  # a VIN typed in lower case is the same car
    assert again.exit_code == 0, again.output
    assert "already paired" in again.stdout
    assert "pairing link" not in again.stdout


def test_pair_explains_a_412_a_missing_app_and_a_missing_login(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    registrations = fleet_state(fleet_twin.world).registrations["na"]
    fleet_twin.twin.call(registrations.pop, DEMO_APP.client_id)
    line = error_line(invoke("pair", "--timeout", "0"))
    assert "register the app in na: teslalink fleet register --domain app.teslalink.test" in line
    monkeypatch.delenv("TESLALINK_FLEET_ACCESS_TOKEN")
    assert "TESLALINK_FLEET_REDIRECT_URI" in error_line(invoke("pair"))  # no login without a whole app
    monkeypatch.setenv("TESLALINK_FLEET_REDIRECT_URI", DEMO_APP.redirect_uris[0])
    assert "run `teslalink fleet login`" in error_line(invoke("pair"))  # and no login stored


def test_pair_follows_the_accounts_region_and_says_how_to_get_a_qr_code(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    monkeypatch.setenv("TESLALINK_FLEET_ACCESS_TOKEN", fleet_twin.token("demo2@teslalink.test"))  # eu
    monkeypatch.setitem(sys.modules, "segno", None)  # as if it were not installed
    vin = fleet_twin.vin("demo2@teslalink.test")
    result = invoke("pair", "--timeout", "0", "--region", "na")  # the wrong region: 421, followed once
    assert f"{vin} is not paired after 0 s" in error_line(result)
    assert "install segno: pip install 'teslalink[fleet]'" in result.stdout


# --- setup -------------------------------------------------------------------------------------


def test_setup_without_anything_lists_every_missing_step(fleet_twin: FleetTwin) -> None:
    result = invoke("setup", "--no-interactive")
    line = error_line(result)
    assert line == "Error: setup incomplete: app credentials, domain, key, registration, login, pairing"
    steps = [row.split(":")[0] for row in result.stdout.strip().splitlines()]
    assert steps == [
        "[missing] app credentials",
        "[missing] domain",
        "[missing] key",
        "[missing] registration",
        "[missing] login",
        "[missing] pairing",
    ]
    assert not fleet_twin.key_file.exists()  # nothing done without asking


def test_setup_of_a_registered_app_checks_and_points_at_the_pairing_link(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    vin = fleet_twin.vin()
    result = invoke("setup", "--no-interactive")
    assert error_line(result) == "Error: setup incomplete: pairing"
    assert f"{fleet_twin.urls.pairing_url}{DEMO_APP.domain}?vin={vin}" in result.stdout
    assert "[done] registration: registered in na, eu, cn, with our key" in result.stdout
    assert DEMO_APP.client_secret not in result.output
    assert os.environ["TESLALINK_FLEET_ACCESS_TOKEN"] not in result.output
    assert fleet_twin.approve(vin) == 200
    done = invoke("setup", "--no-interactive")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip().endswith("setup complete: every step is done")


def test_setup_asks_then_creates_the_key_and_registers(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_own_app(monkeypatch)
    monkeypatch.setenv("TESLALINK_FLEET_REDIRECT_URI", OWN_APP.redirect_uris[0])
    monkeypatch.setenv("TESLALINK_FLEET_ACCESS_TOKEN", fleet_twin.token(client_id=OWN_APP.client_id))
    # no fleet.json; create the key; do not register yet
    first = invoke("setup", "--interactive", input="n\ny\nn\n")
    assert "[done] key: created" in first.stdout
    assert fleet_twin.key_file.stat().st_mode & 0o777 == 0o600
    assert "setup incomplete: registration, pairing" in error_line(first)
    fleet_twin.publish(invoke("key", "show", "--pem").stdout)
    second = invoke("setup", "--interactive", input="n\ny\nn\n")  # register now; do not wait
    assert "[done] registration: registered in na, eu, cn, with our key" in second.stdout
    assert "setup incomplete: pairing" in error_line(second)  # the own app's key is on no car


def test_setup_asks_for_the_apps_settings_and_writes_fleet_json(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app_file = tmp_path / "config" / "fleet.json"
    answers = [OWN_APP.client_id, OWN_APP.client_secret, "", OWN_APP.domain, "y", "n", "n"]
    result = invoke("setup", "--interactive", "--app-file", str(app_file), input="\n".join(answers) + "\n")
    assert f"wrote {app_file} (owner-only, 0600" in result.stdout
    assert "[done] app credentials: client id cli-own-app and its secret are set" in result.stdout
    assert "setup incomplete: key, registration, login, pairing" in error_line(result)
    assert OWN_APP.client_secret not in result.stdout  # typed hidden, never echoed
    assert app_file.stat().st_mode & 0o777 == 0o600
    assert os.listdir(app_file.parent) == ["fleet.json"]  # written atomically: no temporary file left
    saved = json.loads(app_file.read_text())
    assert saved["client_id"] == OWN_APP.client_id
    assert saved["client_secret"] == OWN_APP.client_secret
    assert saved["redirect_uri"] == "http://127.0.0.1:8765/callback"  # the offered default
    assert saved["domain"] == OWN_APP.domain
    assert saved["key_path"] == str(fleet_twin.key_file)
    # the next commands read the app from fleet.json alone
    monkeypatch.delenv("TESLALINK_FLEET_KEY_FILE")
    assert invoke("key", "create", "--app-file", str(app_file)).exit_code == 0
    assert fleet_twin.key_file.exists()
    shown = invoke("key", "show", "--app-file", str(app_file))
    assert f"# serve this at https://{OWN_APP.domain}/.well-known/" in shown.stdout
    fleet_twin.publish(invoke("key", "show", "--pem", "--app-file", str(app_file)).stdout)
    registered = invoke("register", "--app-file", str(app_file))
    assert registered.exit_code == 0, registered.output
    assert registered.stdout.count("[done]") == 3


def test_setup_uses_the_stored_login(fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch)
    result = invoke("setup", "--no-interactive")
    assert f"[done] login: {DEMO1}, region na, scopes: openid, offline_access," in result.stdout
    assert error_line(result) == "Error: setup incomplete: pairing"
    assert fleet_twin.approve(fleet_twin.vin()) == 200
    assert invoke("setup", "--no-interactive").exit_code == 0


def test_setup_without_a_login_says_to_log_in(fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    monkeypatch.delenv("TESLALINK_FLEET_ACCESS_TOKEN")
    monkeypatch.setenv("TESLALINK_FLEET_REDIRECT_URI", DEMO_APP.redirect_uris[0])
    result = invoke("setup", "--no-interactive")
    assert (
        "[missing] login: no account is logged in to the Fleet API: run `teslalink fleet login`"
        in result.stdout
    )
    assert error_line(result) == "Error: setup incomplete: login, pairing"


def test_setup_on_a_terminal_logs_in_with_fleet_logins_flow(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No login stored: setup offers to log in and runs `fleet login`'s browser flow (the local
    callback); the person in the browser is played by a thread when the browser is opened."""
    use_demo_app(fleet_twin, monkeypatch)  # its key and domain
    monkeypatch.delenv("TESLALINK_FLEET_ACCESS_TOKEN")
    app = fleet_twin.app_with_a_callback(free_port())
    monkeypatch.setenv("TESLALINK_FLEET_CLIENT_ID", app.client_id)
    monkeypatch.setenv("TESLALINK_FLEET_CLIENT_SECRET", app.client_secret)
    monkeypatch.setenv("TESLALINK_FLEET_REDIRECT_URI", app.redirect_uris[0])
    browsers: list[threading.Thread] = []

    def open_browser(url: str) -> bool:
        browser = threading.Thread(target=fleet_twin.browse_and_sign_in, args=(url, DEMO1))
        browsers.append(browser)
        browser.start()
        return True

    monkeypatch.setattr(webbrowser, "open", open_browser)
    try:
        result = invoke("setup", "--interactive", input="n\ny\nn\n")  # no fleet.json; log in; do not wait
    finally:
        for browser in browsers:
            browser.join(HANG_GUARD_S)
    assert len(browsers) == 1
    assert f"[done] login: {DEMO1}, region na, scopes: openid, offline_access," in result.stdout
    assert error_line(result) == "Error: setup incomplete: pairing"
    assert f"{fleet_twin.urls.pairing_url}{DEMO_APP.domain}?vin={fleet_twin.vin()}" in result.stdout
    assert invoke("status", "--json").exit_code == 1  # the stored login serves the next commands


def test_pair_uses_the_stored_login_and_keeps_the_region_a_421_names(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app_with_a_login(fleet_twin, monkeypatch, "demo2@teslalink.test")  # eu
    token_file = default_token_path()
    stored = json.loads(token_file.read_text())
    stored["demo2@teslalink.test"]["fleet"]["region"] = "na"  # as if it were wrong
    token_file.write_text(json.dumps(stored))
    vin = fleet_twin.vin("demo2@teslalink.test")
    result = invoke("pair", "--timeout", "0")
    assert f"{vin} is not paired after 0 s" in error_line(result)
    assert f"pairing link: {fleet_twin.urls.pairing_url}{DEMO_APP.domain}?vin={vin}" in result.stdout
    assert json.loads(token_file.read_text())["demo2@teslalink.test"]["fleet"]["region"] == "eu"
    assert fleet_twin.approve(vin, "demo2@teslalink.test") == 200
    assert "is already paired" in invoke("pair", "--timeout", "0").stdout


# --- the group ---------------------------------------------------------------------------------


def test_the_group_lists_every_command_and_imports_login_and_status_when_named() -> None:
    top = CliRunner().invoke(cli, ["--help"])
    assert "fleet" in top.stdout
    alone = invoke("--help")
    assert alone.exit_code == 0
    for name in ("key", "register", "login", "logout", "pair", "status", "setup"):
        assert f"  {name} " in alone.stdout
    assert (
        "Exit status: 0 when everything signed commands need is in place" in invoke("status", "--help").stdout
    )
    assert error_line(invoke("nothing"), code=2) == "Error: No such command 'nothing'."


def test_pair_refuses_a_car_of_another_account_at_once(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    other = fleet_twin.vin("demo3@teslalink.test")
    line = error_line(invoke("pair", "--vehicle", other, "--timeout", "600"))
    assert f"{other} is not a car of this account" in line
