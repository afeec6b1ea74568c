"""`teslalink fleet key|register|pair|setup` against the served Fleet twin: what is written, what
the user reads (one line per error, exit codes 0/1/2, no secrets), and what changes at the twin."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
import threading
import types
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from teslalink.cli.main import cli
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator import ThreadedTwin, World, populate_demo
from teslalink.simulator.fleet import (
    DEMO_APP,
    FleetUrls,
    fleet_state,
    fleet_surfaces,
    paired_keys,
    populate_fleet_demo,
)
from teslalink.simulator.fleet.demo import demo_private_key
from teslalink.simulator.fleet.serve import fleet_user_token
from teslalink.simulator.fleet.state import PartnerApp

OWN_APP = PartnerApp(
    client_id="cli-own-app",
    client_secret="cli-own-secret-never-printed",
    domain="own.example",
    redirect_uris=("http://127.0.0.1:8765/callback",),
    name="own app",
)
DEMO1 = "demo1@teslalink.test"


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["fleet", *args], catch_exceptions=False, input=input)


def error_line(result: Result, code: int = 1) -> str:
    """The one `Error: ...` line of a failed command (and no traceback)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines, result.output
    assert lines[0].startswith("Error: ")
    assert len(lines) == (2 if code == 2 else 1), result.stderr  # usage errors add the help hint
    return lines[0]


@dataclass
class FleetTwin:
    twin: ThreadedTwin
    urls: FleetUrls
    key_file: Path

    @property
    def world(self) -> World:
        return self.twin.world

    def vin(self, email: str = DEMO1) -> str:
        return self.twin.call(lambda: self.world.vehicles_of(self.world.account(email))[0].vin)

    def token(self, email: str = DEMO1, client_id: str = DEMO_APP.client_id) -> str:
        return self.twin.call(lambda: fleet_user_token(self.world, self.world.account(email), client_id))

    def publish(self, pem: str | bytes, domain: str = OWN_APP.domain) -> None:
        """What serving the PEM at https://<domain>/.well-known/... does for the twin."""
        self.twin.call(fleet_state(self.world).know_domain_key, domain, pem)

    def paired(self, vin: str) -> set[bytes]:
        return self.twin.call(paired_keys, self.world, vin)

    def approve(self, vin: str, email: str = DEMO1, password: str = "teslalink-demo-1") -> int:
        """The owner taps Approve on the twin's tesla.com/_ak page."""
        form = urllib.parse.urlencode({"identity": email, "credential": password, "vin": vin}).encode()
        request = urllib.request.Request(self.urls.pairing_url + DEMO_APP.domain, data=form)
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)


@pytest.fixture
def fleet_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FleetTwin]:
    """The demo world with the Fleet twin (the demo app registered everywhere, an app of our own
    registered nowhere), served on a thread; the fleet commands pointed at it through the env."""
    world = World(seed=3, speed=0.0)
    populate_demo(world)
    populate_fleet_demo(world)
    fleet_state(world).add_app(OWN_APP)
    with ThreadedTwin(world, surfaces=fleet_surfaces(world)) as twin:
        urls = FleetUrls.of(twin.cloud.extra)
        monkeypatch.setenv("TESLALINK_FLEET_AUTH_URL", urls.auth)
        for region, url in urls.api.items():
            monkeypatch.setenv(f"TESLALINK_FLEET_API_URL_{region.upper()}", url)
        monkeypatch.setenv("TESLALINK_FLEET_PAIRING_URL", urls.pairing_url)
        for name in ("CLIENT_ID", "CLIENT_SECRET", "DOMAIN", "ACCESS_TOKEN", "KEY_FILE"):
            monkeypatch.delenv(f"TESLALINK_FLEET_{name}", raising=False)
        key_file = tmp_path / "keys" / "fleet-key.pem"
        monkeypatch.setenv("TESLALINK_FLEET_KEY_FILE", str(key_file))
        yield FleetTwin(twin, urls, key_file)


def use_own_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESLALINK_FLEET_CLIENT_ID", OWN_APP.client_id)
    monkeypatch.setenv("TESLALINK_FLEET_CLIENT_SECRET", OWN_APP.client_secret)
    monkeypatch.setenv("TESLALINK_FLEET_DOMAIN", OWN_APP.domain)


def use_demo_app(fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo app, its (registered) key in the key file, and demo1's Fleet token."""
    monkeypatch.setenv("TESLALINK_FLEET_CLIENT_ID", DEMO_APP.client_id)
    monkeypatch.setenv("TESLALINK_FLEET_CLIENT_SECRET", DEMO_APP.client_secret)
    monkeypatch.setenv("TESLALINK_FLEET_DOMAIN", DEMO_APP.domain)
    monkeypatch.setenv("TESLALINK_FLEET_ACCESS_TOKEN", fleet_twin.token())
    PartnerKey(fleet_twin.twin.call(demo_private_key, fleet_twin.world)).save(fleet_twin.key_file)


# --- key -------------------------------------------------------------------------------------------


def test_key_create_writes_an_owner_only_key_atomically_and_never_over_one(fleet_twin: FleetTwin) -> None:
    created = invoke("key", "create")
    assert created.exit_code == 0, created.output
    path = fleet_twin.key_file
    assert path.stat().st_mode & 0o777 == 0o600
    key = PartnerKey.load(path)
    assert key.public_hex() in created.stdout
    assert os.listdir(path.parent) == [path.name]  # no temporary file left beside it
    before = path.read_bytes()
    line = error_line(invoke("key", "create"))
    assert "exists" in line
    assert "--force" in line
    assert path.read_bytes() == before
    replaced = invoke("key", "create", "--force")
    assert replaced.exit_code == 0, replaced.output
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
    again = invoke("pair", "--vehicle", vin)
    assert again.exit_code == 0
    assert "already paired" in again.stdout
    assert "pairing link" not in again.stdout


def test_pair_explains_a_412_and_a_missing_token(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    registrations = fleet_state(fleet_twin.world).registrations["na"]
    fleet_twin.twin.call(registrations.pop, DEMO_APP.client_id)
    line = error_line(invoke("pair", "--timeout", "0"))
    assert "register the app in na: teslalink fleet register --domain app.teslalink.test" in line
    monkeypatch.delenv("TESLALINK_FLEET_ACCESS_TOKEN")
    assert "TESLALINK_FLEET_ACCESS_TOKEN" in error_line(invoke("pair"))


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
    monkeypatch.setenv("TESLALINK_FLEET_ACCESS_TOKEN", fleet_twin.token(client_id=OWN_APP.client_id))
    first = invoke("setup", "--interactive", input="y\nn\n")  # create the key; do not register yet
    assert "[done] key: created" in first.stdout
    assert fleet_twin.key_file.stat().st_mode & 0o777 == 0o600
    assert "setup incomplete: registration, pairing" in error_line(first)
    fleet_twin.publish(invoke("key", "show", "--pem").stdout)
    second = invoke("setup", "--interactive", input="y\nn\n")  # register now; do not wait
    assert "[done] registration: registered in na, eu, cn, with our key" in second.stdout
    assert "setup incomplete: pairing" in error_line(second)  # the own app's key is on no car


# --- the group ---------------------------------------------------------------------------------


def test_the_group_is_listed_and_takes_fleet_login_when_it_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    top = CliRunner().invoke(cli, ["--help"])
    assert "fleet" in top.stdout
    alone = invoke("--help")
    assert alone.exit_code == 0
    for name in ("key", "register", "pair", "setup"):
        assert name in alone.stdout
    if importlib.util.find_spec("teslalink.cli.fleet_login") is None:
        assert "login" not in alone.stdout
        assert error_line(invoke("login"), code=2) == "Error: No such command 'login'."

    @click.command()
    def login() -> None:
        """Sign in (a stand-in for cli/fleet_login.py)."""
        click.echo("fleet login ran")

    module = types.ModuleType("teslalink.cli.fleet_login")
    module.__spec__ = importlib.machinery.ModuleSpec("teslalink.cli.fleet_login", None)
    module.login = login  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "teslalink.cli.fleet_login", module)
    assert "login" in invoke("--help").stdout
    assert invoke("login").stdout == "fleet login ran\n"


def test_pair_refuses_a_car_of_another_account_at_once(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo_app(fleet_twin, monkeypatch)
    other = fleet_twin.vin("demo3@teslalink.test")
    line = error_line(invoke("pair", "--vehicle", other, "--timeout", "600"))
    assert f"{other} is not a car of this account" in line
