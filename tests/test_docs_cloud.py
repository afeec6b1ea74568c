"""Every ```python block of docs/cloud.md runs, as written, against the twin on loopback.

Each block gets a fresh twin: the world of the page's setup (`teslalink sim all --cars-per-account
2`: seed 0, real-time clock; 30x for blocks that wake a car, so that a wake takes a second, not
half a minute), served by `ThreadedTwin` on 127.0.0.1, with the environment the setup exports
(TESLALINK_API_URL, _SSO_URL, _STREAMING_URL, TESLALINK_TOKEN_FILE, DEMO2_TOTP_SECRET) plus
TESLA_REFRESH_TOKEN, and demo1 logged in (the setup's `teslalink login`). The block runs in this
process, in a temporary working directory, on its own thread with a deadline; where the page
says what a block prints, its output is checked (`EXPECTED`).

The person at the browser (the browser and staged flows) is played by `Person`: `webbrowser.open`
and `input` are replaced, and the person signs in on the twin's page. Nothing reaches the
internet: resolving or connecting to anything but loopback fails the block (the loopback guard of
tests/conftest.py, as for every test). A block preceded by `<!-- not run: reason -->` is skipped,
with the reason shown.

The chapter "The Fleet API and signed commands" is a walk-through: its blocks run one after
another on one twin that also serves the Fleet surfaces (`fleet_surfaces`: fleet-auth, the three
regions, the tesla.com pairing page), with the environment the chapter's ```sh block exports
(each URL replaced by the served surface it names by port, the demo app's values as written, its
XDG_CONFIG_HOME a temporary directory, DEMO1_FLEET_TOKEN demo1's token of the demo app).
Besides `EXPECTED`, the walk-through checks that the budget ledger holds exactly what the twin
billed for the calls made with it, that a lost reply is not resent, and that no block prints the
app's secret.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import io
import json
import os
import re
import shlex
import threading
import webbrowser
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import pytest
from click.testing import CliRunner, Result

from teslalink.cli.main import cli
from teslalink.cloud import Auth, TokenStore
from teslalink.cloud.fleet.ledger import BudgetLedger
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.demo import DemoAccount, populate_demo
from teslalink.simulator.fleet import DEMO_APP, FleetUrls, fleet_surfaces, populate_fleet_demo
from teslalink.simulator.fleet.serve import WEB_SURFACE, fleet_ports, fleet_user_token

DOC = Path(__file__).resolve().parents[1] / "docs" / "cloud.md"
DEMO1 = "demo1@teslalink.test"
DEADLINE_S = 30.0  # a hang guard only: each block runs in well under a second or two
WAKE_SPEED = 30.0
_NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")


FLEET_CHAPTER = "The Fleet API and signed commands"
PAGE_PORT = 8400  # the page's `teslalink sim all --port 8400`


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    source: str
    not_run: str | None  # the reason, when marked
    chapter: str = ""  # the `## ` heading it is under

    @property
    def id(self) -> str:
        return f"line{self.line}"


def read_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, with the not-run marker on the line before."""
    lines = text.splitlines()
    blocks: list[Block] = []
    chapter = ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            chapter = lines[i][3:].strip()
        if lines[i].strip() == "```python":
            start = i
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            assert j < len(lines), f"{DOC.name}:{start + 1}: unclosed ```python block"
            before = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            marker = _NOT_RUN.match(before)
            source = "\n".join(lines[start + 1 : j]) + "\n"
            blocks.append(Block(start + 1, source, marker.group("reason") if marker else None, chapter))
            i = j
        i += 1
    return blocks


def shell_commands(text: str, chapter: str) -> list[str]:
    """The command lines of the ```sh blocks of `chapter`: continuations joined, comments cut."""
    commands: list[str] = []
    current, in_sh, continued = "", False, False
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
        stripped = line.strip()
        if stripped.startswith("```"):
            in_sh = stripped == "```sh" and not in_sh
            continue
        if in_sh and current == chapter:
            part = stripped.removesuffix("\\").split("#")[0]
            if continued:
                commands[-1] += " " + part
            else:
                commands.append(part)
            continued = stripped.endswith("\\")
    return [command.strip() for command in commands]


def read_exports(text: str, chapter: str) -> dict[str, str]:
    """NAME -> value of every `export NAME=value` in the ```sh blocks of `chapter`."""
    exports: dict[str, str] = {}
    for words in (command.split() for command in shell_commands(text, chapter)):
        if words[:1] == ["export"]:
            exports.update(word.split("=", 1) for word in words[1:] if "=" in word)
    return exports


TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = read_blocks(TEXT)
OWNER_BLOCKS = [b for b in BLOCKS if b.chapter != FLEET_CHAPTER]
FLEET_BLOCKS = [b for b in BLOCKS if b.chapter == FLEET_CHAPTER]
FLEET_EXPORTS = read_exports(TEXT, FLEET_CHAPTER)
FLEET_COMMANDS = [c for c in shell_commands(TEXT, FLEET_CHAPTER) if c.startswith("teslalink ")]

# (a snippet that names exactly one block, patterns its output must match, in order)
EXPECTED: list[tuple[str, list[str]]] = [
    ('print("logged in; the token expires in"', [r"expires in 8 hours", r"<redacted>"]),
    ("def choose_factor", [r"factors: \[", r"logged in with MFA"]),
    ("def read_twin_captcha", [r"(?:wrong email or password\n){3}", r"wants a captcha", r"logged in"]),
    ("await auth.login_browser()", [r"logged in at http://127\.0\.0\.1:\d+/"]),
    ("async def begin(", [r"send the user to http://127\.0\.0\.1:\d+/oauth2/v3/authorize\n"]),
    ("TESLA_REFRESH_TOKEN", [r"logged in from a refresh token"]),
    ('Auth("demo3@teslalink.test")', [r"asked (http://127\.0\.0\.1:\d+/) -> the account lives at (?!\1)"]),
    (
        'TokenStore("twin-cache.json")',
        [
            r"identities: \['demo1@teslalink.test', 'demo3@teslalink.test'\]",
            r"mode: 0o600",
            r"demo3 refreshes at http://127\.0\.0\.1:\d+/\n",
        ],
    ),
    ("sqlite3", [r"stored for: \['demo1@teslalink.test'\]"]),
    ("await auth.logout()", [r"logged out: True"]),
    (
        "print(CloudUrls())",
        [
            r"owner-api\.teslamotors\.com",
            r"http://127\.0\.0\.1:\d+/\n",
            r"https://tesla-proxy\.example\.net/owner/ https://auth\.tesla\.com/",
        ],
    ),
    ("is still", [r"\bonline\n", r"\basleep\n", r"is still asleep"]),
    (
        "FleetWatcher.of(api",
        [r": (online|driving), vehicle_data read: True\n", r": asleep, vehicle_data read: False\n"],
    ),
    (
        'endpoints=["charge_state", "climate_state", "gui_settings"]',
        [
            r"battery 55 %, limit \d+ %, \w+",
            r"range \d+\.\d mi",
            r"inside \d+\.\d F",
            r"locked: None",
            r"scheduled charging: False",
        ],
    ),
    ("def progress(", [r"is asleep", r"asleep after 0 s", r"online after \d+ s", r"is online"]),
    (
        'car.command("FLASH_LIGHTS")',
        [
            r"already: True is_charging",
            r"refused: cable_connected",
            r"not sent: the charge limit must be 50-100 %, got 120",
            r"True False",
        ],
    ),
    (
        "compose_image_url(view=",
        [
            r"Tesla Model 3 \d{4}",
            r"view=STUD_SIDE&size=400",
            r"data from just now",
            r"not_in_service",
            r"Model 3 \['Model 3', 'Paint: ",
        ],
    ),
    ("async def battery_level(", [r": 55 %", r": asleep, left alone", r"woken: 70 %"]),
    ("break  # or keep going", [r"\+00:00 55(\.0)? %"]),
    ("async def on_update(", [r"odometer \d+\.\d mi, range", r"stopped 1 update\(s\)"]),
    (
        "disconnected_retry_s=30)",
        [r"waiting_for_vehicle - vehicle \d+: disconnected \(not waking it", r"still asleep"],
    ),
    (
        "live.percentage_charged",
        [r"Demo Home 1\.1 solar [\d.]+ W", r"battery: True", r"Wall Connectors: \['TWC"],
    ),
    ('site.history("energy", "day")', [r"\d+ record\(s\); fields: \['", r"week \['\d{4}-\d\d-\d\d'"]),
    ("set_storm_mode(True)", [r"tariff: \S", r"autonomous 30(\.0)? %, storm mode True"]),
    (
        'print(len(tesla.api("PRODUCT_LIST")), "products")',
        [
            r"Sparky 5YJ\w{14} online\n +55 %",
            r"Mercury \w+ asleep",
            r"Demo Home 1\.1 \d+ % charged",
            r"\d products",
        ],
    ),
    ("car.stream(lambda update", [r"\n(?:[1-9]\d*) updates\n"]),
    # the Fleet chapter, in its order
    (
        "with Fleet(StaticToken(",
        [r"region: na\n", r"Sparky 5YJ\w{14} online\n", r"Mercury 5YJ\w{14} asleep\n"],
    ),
    (
        "PartnerKey.load_or_create(app.key_path)",
        [
            r"client_secret=<redacted>",
            r"serve this at https://app\.teslalink\.test/\.well-known/appspecific/com\.tesla\.3p\.public-key\.pem\n",
            r"-----BEGIN PUBLIC KEY-----\n",
        ],
    ),
    ("_twin/fleet/domain_key", [r"the twin's app\.teslalink\.test serves our key: True"]),
    (
        "partner.onboard(",
        [
            rf"registered - {region}: registered app\.teslalink\.test; Tesla holds our key"
            for region in ("na", "eu", "cn")
        ],
    ),
    (
        'print("signed in:", auth.identity',
        [
            r"signed in: demo1@teslalink\.test - region na\n",
            r"scopes: openid offline_access user_data vehicle_device_data vehicle_location vehicle_cmds",
            r"access_token=<redacted>, refresh_token=<redacted>",
        ],
    ),
    (
        "except NotPaired as exc:",
        [
            r"Sparky (5YJ\w{14}) paired: False - signing required: True\n",
            r"not paired; the owner opens http://127\.0\.0\.1:\d+/_ak/app\.teslalink\.test\?vin=5YJ\w{14}\n",
        ],
    ),
    (
        "async def owner_approves(",
        [
            r"open on the owner's phone: http://127\.0\.0\.1:\d+/_ak/app\.teslalink\.test\?vin=5YJ\w{14}\n",
            r"the page says: teslalink demo \(app\.teslalink\.test\) is now a key of Sparky",
            r"5YJ\w{14} paired: True\n",
        ],
    ),
    (
        "on_region=auth.set_region",
        [
            r"region: na\n",
            r"Sparky +5YJ\w{14} online +command_signing=required\n",
            r"Mercury +5YJ\w{14} asleep +command_signing=required\n",
            r"battery 55 %, \w+ at -?\d+\.\d+ -?\d+\.\d+\n",
            r"billed: \{'data': 1\}\n",
        ],
    ),
    (
        "except MissingScopes as exc:",
        [
            r"granted: openid offline_access vehicle_device_data vehicle_cmds\n",
            r"missing: \('vehicle_location',\)",
        ],
    ),
    (
        "await car.unlock()  # signed",
        [
            r"before: (?!Stopped)\w+ 32(\.0)? A, locked True\n",
            r"after: +Stopped 16(\.0)? A, locked False\n",
            r"billed: \{'data': 2, 'commands': 5\}",
        ],
    ),
    (
        'for kept, cache in (("on disk"',
        [r"sessions on disk: 1 billed request\(s\)", r"sessions in memory: 2 billed request\(s\)"],
    ),
    (
        "async with open_fleet(TokenStore()",
        [r"Sparky asks for 20(\.0)? A; signed: True\n", r"billed: \{'commands': 1, 'data': 1\}"],
    ),
    (
        "async def lose_the_next_reply(",
        [
            r"5YJ\w{14}: no answer to charge_start \(.*\); the car may have run it, so it was not sent again",
            r"the car says: (Starting|Charging)\n",
        ],
    ),
    (
        "BudgetLedger.beside(TokenStore().path).month(",
        [
            r"\d{4}-\d\d \{'data': 4, 'commands': 6\}\n",
            r"cost \$0\.014, of which the discount covers \$0\.014; due \$0\.00",
        ],
    ),
    (
        "MonthUsage(",
        [
            r"amps every 5 min, 6 h a day +\$ +2\.23 a month",
            r"amps every minute, 6 h a day +\$ +11\.16 a month",
            r"vehicle_data every 10 min +\$ +8\.93 a month",
            r"vehicle_data every minute +\$ +89\.28 a month",
            r"2 wakes a day +\$ +1\.24 a month",
            r"2 wakes: \$12\.40, due \$2\.40",
        ],
    ),
]


# --- the twin and the page's environment ---------------------------------------------------------


class Person:
    """Who sits at the browser: signs in on the page `webbrowser.open` got, pastes the redirect URL."""

    def __init__(self, accounts: list[DemoAccount]) -> None:
        self.passwords = {a.email: a.password for a in accounts}
        self.opened: list[str] = []

    def open(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.opened.append(url)
        return True

    def input(self, prompt: str = "") -> str:
        assert self.opened, "input() was called before a browser was opened"
        return self.sign_in(self.opened.pop())

    def sign_in(self, url: str) -> str:
        return asyncio.run(self._sign_in(url))

    async def _sign_in(self, url: str) -> str:
        email = parse_qs(urlsplit(url).query)["login_hint"][0]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(url) as resp:
                page_url, html = str(resp.url), await resp.text()
            action = re.search(r'<form[^>]*action="([^"]*)"', html)
            assert action is not None, "the twin's sign-in page has no form"
            fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', html))
            fields.update(identity=email, credential=self.passwords[email])
            target = urljoin(page_url, action.group(1).replace("&amp;", "&"))
            async with session.post(target, data=fields, allow_redirects=False) as resp:
                assert resp.status == 302, resp.status
                return resp.headers["Location"]


@dataclass
class Page:
    twin: ThreadedTwin
    person: Person
    token_file: Path


@contextlib.contextmanager
def page_setup(
    speed: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fleet: bool = False
) -> Iterator[Page]:
    """The twin and the environment of the page's setup section, demo1 logged in; with `fleet`,
    the Fleet surfaces too and the environment of the Fleet chapter's setup."""
    world = World(seed=0, speed=speed)
    accounts = populate_demo(world, cars_per_account=2)
    if fleet:
        populate_fleet_demo(world)
    with ThreadedTwin(world, accounts=accounts, surfaces=fleet_surfaces(world) if fleet else ()) as twin:
        assert twin.cloud is not None
        urls = twin.urls
        token_file = tmp_path / "tokens.json"
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        monkeypatch.setenv("TESLALINK_API_URL", urls.api)
        monkeypatch.setenv("TESLALINK_SSO_URL", urls.sso)
        monkeypatch.setenv("TESLALINK_STREAMING_URL", urls.streaming)
        monkeypatch.setenv("TESLALINK_TOKEN_FILE", str(token_file))
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
        secret = accounts[1].totp_secret
        assert secret is not None
        monkeypatch.setenv("DEMO2_TOTP_SECRET", secret)
        refresh = twin.call(lambda: world.auth.issue(world.account(DEMO1))["refresh_token"])
        monkeypatch.setenv("TESLA_REFRESH_TOKEN", refresh)

        async def login() -> None:
            async with Auth(DEMO1, urls=urls, store=TokenStore(token_file)) as auth:
                await auth.login_headless("teslalink-demo-1")

        asyncio.run(login())
        if fleet:
            for name, value in fleet_environment(twin, tmp_path).items():
                monkeypatch.setenv(name, value)
        person = Person(accounts)
        monkeypatch.setattr(webbrowser, "open", person.open)
        monkeypatch.setattr(builtins, "input", person.input)
        yield Page(twin, person, token_file)


# What each URL the Fleet chapter exports stands for: its variable's surface at the page's port.
_FLEET_URL_SURFACES = {
    "TESLALINK_FLEET_AUTH_URL": "fleet_auth",
    "TESLALINK_FLEET_API_URL_NA": "fleet_na",
    "TESLALINK_FLEET_API_URL_EU": "fleet_eu",
    "TESLALINK_FLEET_API_URL_CN": "fleet_cn",
    "TESLALINK_FLEET_PAIRING_URL": WEB_SURFACE,
}
_FLEET_APP_VALUES = {
    "TESLALINK_FLEET_CLIENT_ID": DEMO_APP.client_id,
    "TESLALINK_FLEET_CLIENT_SECRET": DEMO_APP.client_secret,
    "TESLALINK_FLEET_REDIRECT_URI": DEMO_APP.redirect_uris[0],
    "TESLALINK_FLEET_DOMAIN": DEMO_APP.domain,
}


def fleet_environment(twin: ThreadedTwin, tmp_path: Path) -> dict[str, str]:
    """The Fleet chapter's exports for this twin: each URL the served surface its port names (and
    the pairing page's path), the app's values as written, the config directory a temporary one,
    the access token demo1's."""
    served = FleetUrls.of(twin.cloud.extra)
    environment: dict[str, str] = {}
    for name, value in FLEET_EXPORTS.items():
        if name in _FLEET_URL_SURFACES:
            environment[name] = (
                served.pairing_url
                if name == "TESLALINK_FLEET_PAIRING_URL"
                else (twin.cloud.extra[_FLEET_URL_SURFACES[name]])
            )
        elif name == "XDG_CONFIG_HOME":
            environment[name] = str(tmp_path / "twin-config")
        elif name == "DEMO1_FLEET_TOKEN":
            environment[name] = twin.call(lambda: fleet_user_token(twin.world, twin.world.account(DEMO1)))
        else:
            environment[name] = value
    return environment


def twin_billed(twin: ThreadedTwin) -> Counter[str]:
    """What the twin has billed so far, in the ledger's category names."""
    names = {
        BillingCategory.DATA: "data",
        BillingCategory.COMMAND: "commands",
        BillingCategory.WAKE: "wakes",
        BillingCategory.STREAMING_SIGNAL: "signals",
    }
    totals = twin.call(lambda: dict(twin.world.accounting.totals))
    return Counter({names[category]: n for category, n in totals.items() if n})


def check_expected(block: Block, output: str) -> None:
    """The block's output matches its EXPECTED patterns, in order."""
    for snippet, patterns in EXPECTED:
        if snippet in block.source:
            position = 0
            for pattern in patterns:
                found = re.compile(pattern).search(output, position)
                assert found is not None, f"{DOC.name}:{block.line}: no {pattern!r} in:\n{output}"
                position = found.end()


def run_block(block: Block, namespace: dict[str, Any] | None = None) -> str:
    """Execute the block on its own thread (its `asyncio.run` needs a thread without a loop); its output."""
    code = compile(block.source, f"{DOC}:{block.line}", "exec")
    scope = namespace if namespace is not None else {}
    scope.setdefault("__name__", "__main__")
    failure: list[BaseException] = []

    def target() -> None:
        try:
            exec(code, scope)
        except BaseException as exc:  # handed to the test's thread
            failure.append(exc)

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runner = threading.Thread(target=target, daemon=True)
        runner.start()
        runner.join(DEADLINE_S)
    assert not runner.is_alive(), f"{DOC.name}:{block.line}: still running after {DEADLINE_S:g} s"
    if failure:
        raise AssertionError(f"{DOC.name}:{block.line} raised:\n{out.getvalue()}") from failure[0]
    return out.getvalue()


def speed_for(block: Block) -> float:
    return WAKE_SPEED if "wake_up(" in block.source else 1.0


# --- the tests -------------------------------------------------------------------------------------


def test_the_page_has_its_examples() -> None:
    assert len(BLOCKS) >= 20
    assert sum(b.not_run is not None for b in BLOCKS) <= 2
    assert len(FLEET_BLOCKS) >= 12
    assert all(b.not_run is None for b in FLEET_BLOCKS)
    for snippet, _ in EXPECTED:
        named = [b.line for b in BLOCKS if snippet in b.source]
        assert len(named) == 1, f"{snippet!r} names the blocks at lines {named}, not exactly one"
    named = {b.line for snippet, _ in EXPECTED for b in FLEET_BLOCKS if snippet in b.source}
    assert named == {b.line for b in FLEET_BLOCKS}, "every Fleet block has its expected output"


def test_the_fleet_setup_exports_the_twins_layout() -> None:
    """The chapter's URLs are the ports `sim all --port 8400` serves the Fleet twin on, and its app
    is the twin's demo app."""
    assert f"teslalink sim all --port {PAGE_PORT}" in TEXT
    layout = fleet_ports(PAGE_PORT)
    for name, surface in _FLEET_URL_SURFACES.items():
        path = "/_ak/" if surface == WEB_SURFACE else "/"
        assert FLEET_EXPORTS.get(name) == f"http://127.0.0.1:{layout[surface]}{path}", name
    for name, value in _FLEET_APP_VALUES.items():
        assert FLEET_EXPORTS.get(name) == value, name
    assert {"XDG_CONFIG_HOME", "DEMO1_FLEET_TOKEN"} <= set(FLEET_EXPORTS)
    assert set(FLEET_EXPORTS) == {
        *_FLEET_URL_SURFACES,
        *_FLEET_APP_VALUES,
        "XDG_CONFIG_HOME",
        "DEMO1_FLEET_TOKEN",
    }


@pytest.mark.parametrize("block", OWNER_BLOCKS, ids=[b.id for b in OWNER_BLOCKS])
def test_example_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.not_run is not None:
        pytest.skip(f"marked not run: {block.not_run}")
    with page_setup(speed_for(block), tmp_path, monkeypatch):
        output = run_block(block)  # a block still running after DEADLINE_S fails there
    check_expected(block, output)


def test_the_fleet_chapter_runs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From zero to a paired car and its signed commands, block after block on one twin."""
    with page_setup(1.0, tmp_path, monkeypatch, fleet=True) as page:
        with_ledger: Counter[str] = Counter()  # what the twin billed for the calls made with a ledger
        outputs: list[str] = []
        for block in FLEET_BLOCKS:
            before = twin_billed(page.twin)
            output = run_block(block)
            outputs.append(output)
            billed = twin_billed(page.twin) - before
            check_expected(block, output)
            if "ledger=" in block.source or "open_fleet(" in block.source:  # open_fleet: the ledger too
                with_ledger += billed
            if "lose_the_next_reply" in block.source:
                assert billed == Counter({"data": 1}), "a command whose reply was lost is not sent again"
            if ".month(" in block.source and "BudgetLedger" in block.source:
                counted = BudgetLedger.beside(page.token_file).month(DEMO1).counts
                assert Counter(counted) == with_ledger, "the ledger holds what the twin billed"
                assert with_ledger["commands"] > 0
                assert with_ledger["data"] > 0
        login = TokenStore(page.token_file).load_section(DEMO1, "fleet")
        assert login is not None
        for secret in (login["access_token"], login["refresh_token"], DEMO_APP.client_secret):
            assert all(secret not in output for output in outputs), "a block printed a secret"


def test_the_staged_flow_completes_after_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The block's `finish`, called later with what the person's browser came back with, logs in."""
    (block,) = [b for b in BLOCKS if "async def begin(" in b.source]
    with page_setup(1.0, tmp_path, monkeypatch) as page:
        page.token_file.unlink()  # nobody logged in before
        namespace: dict[str, Any] = {}
        run_block(block, namespace)
        saved = json.loads(namespace["sessions"]["session-1"])
        assert saved["identity"] == DEMO1
        redirect = page.person.sign_in(saved["url"])
        assert redirect.startswith("tesla://auth/callback?")
        asyncio.run(namespace["finish"]("session-1", redirect))
        assert namespace["sessions"] == {}
        assert TokenStore(page.token_file).identities() == [DEMO1]


def owner_approves(pairing_url: str, vin: str) -> None:
    """The owner signs in on the twin's pairing page and approves the demo app's key for `vin`."""

    async def approve() -> None:
        form = {"identity": DEMO1, "credential": "teslalink-demo-1"}
        link = f"{pairing_url}{DEMO_APP.domain}?vin={vin}"
        async with aiohttp.ClientSession() as http, http.post(link, data=form) as page:
            assert page.status == 200, await page.text()

    asyncio.run(approve())


def publish_key(auth_url: str, pem: str) -> None:
    """What copying the PEM to the app's web server does, on the twin."""

    async def post() -> None:
        body = {"domain": DEMO_APP.domain, "pem": pem}
        async with (
            aiohttp.ClientSession() as http,
            http.post(auth_url + "_twin/fleet/domain_key", json=body) as reply,
        ):
            assert reply.status == 200, await reply.text()

    asyncio.run(post())


def invoke_within(args: list[str]) -> Result:
    """`teslalink ARGS` in this process, on a thread with a deadline (`fleet pair` would wait 600 s)."""
    done: list[Result] = []
    runner = threading.Thread(target=lambda: done.append(CliRunner().invoke(cli, args)), daemon=True)
    runner.start()
    runner.join(DEADLINE_S)
    assert done, f"teslalink {' '.join(args)}: still running after {DEADLINE_S:g} s"
    return done[0]


def test_the_fleet_commands_run_on_the_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chapter's `teslalink` lines, as written, from a fresh config directory to every step of
    setup done, `fleet status` content and a signed command over the stored login (the PEM
    published and each car approved by its owner between the lines, as the chapter says)."""
    assert [c.split()[1:3] for c in FLEET_COMMANDS] == [
        ["fleet", "key"],
        ["fleet", "key"],
        ["fleet", "register"],
        ["fleet", "login"],
        ["fleet", "pair"],
        ["fleet", "pair"],
        ["fleet", "setup"],
        ["fleet", "status"],
        ["charge", "amps"],
    ]
    with page_setup(1.0, tmp_path, monkeypatch, fleet=True) as page:
        twin = page.twin
        car = twin.call(lambda: twin.world.vehicles_of(twin.world.account(DEMO1))[0])
        outputs: dict[str, str] = {}
        for command in FLEET_COMMANDS:
            words, _, target = command.partition(">")
            args = shlex.split(words)[1:]
            if args[:2] == ["fleet", "pair"]:
                owner_approves(os.environ["TESLALINK_FLEET_PAIRING_URL"], args[args.index("--vehicle") + 1])
            result = invoke_within(args)
            assert result.exit_code == 0, (command, result.output)
            assert DEMO_APP.client_secret not in result.output
            if target.strip():
                Path(target.strip()).write_text(result.output, encoding="utf-8")
                publish_key(os.environ["TESLALINK_FLEET_AUTH_URL"], result.output)
            outputs[args[1]] = result.output
        assert "setup complete: every step is done" in outputs["setup"]
        assert car.vin in outputs["status"]
        assert twin.call(lambda: car.port.current_request) == 16  # the signed command reached the car
