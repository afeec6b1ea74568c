"""The served Fleet twin for the `teslalink fleet` command tests, and what they share: the demo
app (registered everywhere) and an app of our own (registered nowhere), a stored login made with
`fleet login --headless`, the owner's approval on the twin's tesla.com/_ak page."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

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
from teslalink.simulator.fleet.registration import register
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
HANG_GUARD_S = 30.0
"""Seconds: a bound on waits that only guards against a hang (each takes milliseconds)."""


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

    def sign_in_args(self, email: str, *scopes: str) -> list[str]:
        """`fleet login --headless` arguments for `email` (its password, a passcode when MFA is on)."""
        account = self.twin.call(self.world.account, email)
        args = ["--email", email, "--password", account.password]
        if account.mfa_secret is not None:
            from teslalink.simulator.sso.totp import totp

            args += ["--passcode", self.twin.call(lambda: totp(account.mfa_secret, self.world.now()))]
        return args + [arg for scope in scopes for arg in ("--scope", scope)]

    def browse_and_sign_in(self, authorize_url: str, email: str) -> None:
        """A person in a browser: the twin's sign-in page, the form sent, and the redirect followed
        to the app's callback (urllib follows the 302 with a GET)."""
        with urllib.request.urlopen(authorize_url, timeout=HANG_GUARD_S) as page:
            html = page.read().decode()
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
        account = self.twin.call(self.world.account, email)
        form = {**hidden, "identity": email, "credential": account.password}
        request = urllib.request.Request(
            self.urls.auth + "oauth2/v3/authorize", data=urllib.parse.urlencode(form).encode()
        )
        with urllib.request.urlopen(request, timeout=HANG_GUARD_S) as landed:
            assert landed.status == 200

    def app_with_a_callback(self, port: int) -> PartnerApp:
        """The demo app's twin (its domain, so its key) with a redirect URI on `port`, registered
        everywhere: a callback port of the test's own."""
        app = PartnerApp(
            client_id="cli-callback-app",
            client_secret="cli-callback-secret-never-printed",
            domain=DEMO_APP.domain,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
            name="callback app",
        )

        def add() -> None:
            state = fleet_state(self.world)
            state.add_app(app)
            for region in ("na", "eu", "cn"):
                register(state, region, app.client_id, app.domain)

        self.twin.call(add)
        return app

    def approve(self, vin: str, email: str = DEMO1) -> int:
        """The owner taps Approve on the twin's tesla.com/_ak page (signed in, a passcode with MFA)."""
        fields = dict(zip(*[iter(self.sign_in_args(email))] * 2, strict=True))
        form = {"identity": email, "credential": fields["--password"], "vin": vin}
        if "--passcode" in fields:
            form["passcode"] = fields["--passcode"]
        request = urllib.request.Request(
            self.urls.pairing_url + DEMO_APP.domain, data=urllib.parse.urlencode(form).encode()
        )
        with urllib.request.urlopen(request, timeout=HANG_GUARD_S) as response:
            return int(response.status)


@pytest.fixture(name="fleet_twin")
def fleet_twin_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FleetTwin]:
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


def use_demo_app_with_a_login(
    fleet_twin: FleetTwin, monkeypatch: pytest.MonkeyPatch, email: str = DEMO1
) -> None:
    """The demo app as a whole app (its redirect URI too), its key, and `email`'s Fleet login stored
    by `fleet login --headless` (no access token in the environment)."""
    use_demo_app(fleet_twin, monkeypatch)
    monkeypatch.delenv("TESLALINK_FLEET_ACCESS_TOKEN")
    monkeypatch.setenv("TESLALINK_FLEET_REDIRECT_URI", DEMO_APP.redirect_uris[0])
    logged_in = invoke("login", "--headless", *fleet_twin.sign_in_args(email))
    assert logged_in.exit_code == 0, logged_in.output
