"""What the Fleet-mode CLI tests share: the demo world with the Owner API and the Fleet twin served
on a thread, the CLI pointed at both through the environment (the demo app, its key file), and a
Fleet login stored in the token file as `teslalink fleet login` leaves it.

Imported by the test modules (tests/cli has no conftest.py; the top-level one gives `point_cli_at`).
"""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from teslalink.cli.main import cli
from teslalink.cloud.fleet.tokens import SECTION, FleetToken
from teslalink.cloud.tokens import TokenStore
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.simulator import ThreadedTwin, World, populate_demo
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.fleet import (
    DEMO_APP,
    FleetUrls,
    fleet_state,
    fleet_surfaces,
    pair,
    populate_fleet_demo,
)
from teslalink.simulator.fleet.regions import ALL_SCOPES
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.surface import AppSurface
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.spec import make_vin, model_spec

DEMO1 = "demo1@teslalink.test"  # na
DEMO2 = "demo2@teslalink.test"  # eu on the Fleet API
OUR_CATEGORY = {
    BillingCategory.DATA: "data",
    BillingCategory.COMMAND: "commands",
    BillingCategory.WAKE: "wakes",
    BillingCategory.STREAMING_SIGNAL: "signals",
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def error_line(result: Result) -> str:
    """The one `Error: ...` line of a command that failed with exit code 1 (and no traceback)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@dataclass
class Served:
    twin: ThreadedTwin
    urls: FleetUrls
    token_file: Path
    key_file: Path
    heard: Counter[str]
    """Requests the regional Fleet hosts received, by the path's last word (`signed_command`,
    `wake_up`, a VIN...; every REST command/{name} is `command`), and by host (`@na`, `@eu`...)."""

    def sent(self) -> int:
        """How many requests reached any regional Fleet host."""
        return sum(n for name, n in self.heard.items() if name.startswith("@"))

    @property
    def world(self) -> World:
        return self.twin.world

    @property
    def store(self) -> TokenStore:
        return TokenStore(self.token_file)

    def car(self, email: str = DEMO1) -> Car:
        """The account's first car (a 2020s car: signed commands required)."""
        return self.twin.call(lambda: self.world.vehicles_of(self.world.account(email))[0])

    def old_model_s(self, email: str = DEMO1) -> Car:
        """A 2019 Model S: `command_signing` off, REST commands accepted (research/fleet.md 2.11)."""
        vin = make_vin(model_spec("S"), 2019, random.Random(3))
        return self.twin.call(lambda: self.world.add_vehicle(self.world.account(email), model="S", vin=vin))

    def log_in(
        self, email: str = DEMO1, *, region: str | None = None, scopes: tuple[str, ...] = ALL_SCOPES
    ) -> None:
        """Store a Fleet login (`region`: what the file says, a stale one if given)."""

        def issue() -> tuple[dict[str, Any], str, float]:
            account = self.world.account(email)
            body = authority_of(self.world).issue_user_token(
                account, client_id=DEMO_APP.client_id, scopes=scopes
            )
            return body, fleet_state(self.world).home_region(account), self.world.now()

        body, home, now = self.twin.call(issue)
        token = FleetToken(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_at=now + float(body["expires_in"]),
            region=region or home,
            scopes=scopes,
            client_id=DEMO_APP.client_id,
        )
        self.store.save_section(email, SECTION, token.to_entry())

    def fleet_entry(self, email: str = DEMO1) -> dict[str, Any]:
        entry = json.loads(self.token_file.read_text())[email][SECTION]
        assert isinstance(entry, dict)
        return entry

    def key(self) -> PartnerKey:
        return PartnerKey.load_or_create(self.key_file)

    def pair(self, *cars: Car, key: PartnerKey | None = None) -> PartnerKey:
        """The owner approved the app's key (or `key`) on each car."""
        chosen = key or self.key()
        for car in cars:
            self.twin.call(pair, self.world, car.vin, chosen.public_bytes())
        return chosen

    def billed(self) -> dict[str, int]:
        """The twin's billing counters in our category names."""
        totals = self.twin.call(lambda: dict(self.world.accounting.totals))
        return {OUR_CATEGORY[c]: n for c, n in totals.items() if n}

    def owner_login(self, email: str = DEMO1) -> None:
        """`teslalink login` for the Owner API (the demo passwords)."""
        number = email.removeprefix("demo").split("@")[0]
        result = invoke("login", "--email", email, "--password", f"teslalink-demo-{number}")
        assert result.exit_code == 0, result.output

    def ledger(self, email: str = DEMO1) -> dict[str, int]:
        """This month's counts in the ledger beside the token file."""
        from teslalink.cloud.fleet.ledger import BudgetLedger

        return dict(BudgetLedger.beside(self.token_file).month(email).counts)


SEED = 23


def _recorder(heard: Counter[str], region: str) -> Any:
    """Outermost middleware: count every request by its route name (and its host, `@region`),
    faults and 429s included."""

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        parts = request.path.rstrip("/").split("/")
        heard["command" if len(parts) > 2 and parts[-2] == "command" else parts[-1]] += 1
        heard[f"@{region}"] += 1
        return await handler(request)

    return record


@contextlib.contextmanager
def serving(
    point_cli_at: Any,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int = SEED,
    start: float | None = None,
) -> Iterator[Served]:
    """The demo world (Owner API, and the Fleet twin with the demo app registered everywhere) on a
    thread, the CLI pointed at both, the token and key files in `folder`; no login stored yet.
    `start`: the world's clock (default now; it stands still unless a test advances it)."""
    world = World(seed=seed, speed=0.0, start=start)
    accounts = populate_demo(world)
    populate_fleet_demo(world)
    surfaces = fleet_surfaces(world)
    heard: Counter[str] = Counter()
    for surface in surfaces:
        if surface.name in ("fleet_na", "fleet_eu", "fleet_cn") and isinstance(surface, AppSurface):
            app = surface._source  # the regional app itself, before it is served
            assert isinstance(app, web.Application)
            app.middlewares.insert(0, _recorder(heard, surface.name.removeprefix("fleet_")))
    with ThreadedTwin(world, accounts=accounts, surfaces=surfaces) as twin:
        point_cli_at(twin)
        folder.mkdir(parents=True, exist_ok=True)
        token_file = folder / "tokens.json"
        monkeypatch.setenv("TESLALINK_TOKEN_FILE", str(token_file))
        urls = FleetUrls.of(twin.cloud.extra)
        monkeypatch.setenv("TESLALINK_FLEET_AUTH_URL", urls.auth)
        for region, url in urls.api.items():
            monkeypatch.setenv(f"TESLALINK_FLEET_API_URL_{region.upper()}", url)
        monkeypatch.setenv("TESLALINK_FLEET_CLIENT_ID", DEMO_APP.client_id)
        monkeypatch.setenv("TESLALINK_FLEET_CLIENT_SECRET", DEMO_APP.client_secret)
        monkeypatch.setenv("TESLALINK_FLEET_REDIRECT_URI", DEMO_APP.redirect_uris[0])
        monkeypatch.setenv("TESLALINK_FLEET_DOMAIN", DEMO_APP.domain)
        key_file = folder / "fleet-key.pem"
        monkeypatch.setenv("TESLALINK_FLEET_KEY_FILE", str(key_file))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))  # the session cache
        for name in ("TESLALINK_API_MODE", "TESLALINK_FLEET_COMMAND_PROXY", "TESLALINK_FLEET_ACCESS_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield Served(twin, urls, token_file, key_file, heard)


@pytest.fixture(name="served")
def served_fixture(point_cli_at: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    with serving(point_cli_at, tmp_path / "served", monkeypatch) as running:
        yield running
