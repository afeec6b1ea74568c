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
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import io
import json
import re
import threading
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
import pytest

from teslalink.cloud import Auth, TokenStore
from teslalink.simulator import ThreadedTwin, World
from teslalink.simulator.demo import DemoAccount, populate_demo

DOC = Path(__file__).resolve().parents[1] / "docs" / "cloud.md"
DEMO1 = "demo1@teslalink.test"
DEADLINE_S = 30.0  # a hang guard only: each block runs in well under a second or two
WAKE_SPEED = 30.0
_NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    source: str
    not_run: str | None  # the reason, when marked

    @property
    def id(self) -> str:
        return f"line{self.line}"


def read_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, with the not-run marker on the line before."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            assert j < len(lines), f"{DOC.name}:{start + 1}: unclosed ```python block"
            before = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
            marker = _NOT_RUN.match(before)
            source = "\n".join(lines[start + 1 : j]) + "\n"
            blocks.append(Block(start + 1, source, marker.group("reason") if marker else None))
            i = j
        i += 1
    return blocks


BLOCKS = read_blocks(DOC.read_text(encoding="utf-8"))

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
def page_setup(speed: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    """The twin and the environment of the page's setup section, demo1 logged in."""
    world = World(seed=0, speed=speed)
    accounts = populate_demo(world, cars_per_account=2)
    with ThreadedTwin(world, accounts=accounts) as twin:
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
        person = Person(accounts)
        monkeypatch.setattr(webbrowser, "open", person.open)
        monkeypatch.setattr(builtins, "input", person.input)
        yield Page(twin, person, token_file)


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
    for snippet, _ in EXPECTED:
        named = [b.line for b in BLOCKS if snippet in b.source]
        assert len(named) == 1, f"{snippet!r} names the blocks at lines {named}, not exactly one"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.not_run is not None:
        pytest.skip(f"marked not run: {block.not_run}")
    with page_setup(speed_for(block), tmp_path, monkeypatch):
        output = run_block(block)  # a block still running after DEADLINE_S fails there
    for snippet, patterns in EXPECTED:
        if snippet in block.source:
            position = 0
            for pattern in patterns:
                found = re.compile(pattern).search(output, position)
                assert found is not None, f"{DOC.name}:{block.line}: no {pattern!r} in:\n{output}"
                position = found.end()


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
