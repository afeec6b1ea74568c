"""The CLI's login, logout and 429 cooldowns against the twin: what is sent, what the user reads.

"Nothing sent" is checked at the twin: its billing counters (every Owner API answer below 500 is
billed, 429s included) and, for the streaming handshake, its fault layer, which every handshake
passes through.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cloud_cli import DEMO1, DEMO2, invoke, one_line_error

from conftest import counting_down
from teslalink.simulator import ThreadedTwin
from teslalink.simulator.sso.totp import totp


def billed(cloud: ThreadedTwin) -> int:
    return int(cloud.call(lambda: sum(cloud.world.accounting.totals.values())))


def seconds_left(line: str) -> int:
    found = re.search(r"retry in (\d+) s", line)
    assert found is not None, line
    return int(found.group(1))


@pytest.fixture
def handshakes(demo_logged_in: ThreadedTwin) -> Iterator[list[int]]:
    """Count the streaming handshakes reaching the twin (each draws its fate once)."""
    assert demo_logged_in.cloud is not None
    faults = demo_logged_in.cloud.faults
    original = faults.decide
    seen = [0]

    def counting(surface: str) -> Any:
        if surface == "streaming":
            seen[0] += 1
        return original(surface)

    faults.decide = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        faults.decide = original  # type: ignore[method-assign]


# --- H2: `stream` goes through the shared cooldown -------------------------------------------------


def test_stream_records_and_honours_the_api_cooldown(demo_logged_in: ThreadedTwin) -> None:
    assert demo_logged_in.cloud is not None
    faults = demo_logged_in.cloud.faults
    demo_logged_in.call(lambda: faults.set("owner_api", "429=1,retry_after=30"))
    started = time.time()
    try:
        assert "429" in one_line_error(invoke("stream", "--duration", "1"))
    finally:
        demo_logged_in.call(faults.clear)
    before = billed(demo_logged_in)
    line = one_line_error(invoke("stream", "--duration", "1"))  # the twin would answer: not asked
    assert "not sent, cooling down after a 429" in line
    assert counting_down(seconds_left(line), 30, started)
    assert billed(demo_logged_in) == before
    line = one_line_error(invoke("vehicles"))  # and every other command shares it
    assert counting_down(seconds_left(line), 30, started)
    assert billed(demo_logged_in) == before


def test_a_handshake_429_is_kept_for_the_next_stream(
    demo_logged_in: ThreadedTwin, handshakes: list[int], tmp_path: Path
) -> None:
    assert demo_logged_in.cloud is not None
    faults = demo_logged_in.cloud.faults
    demo_logged_in.call(lambda: faults.set("streaming", "429=1,retry_after=30"))
    started = time.time()
    try:
        first = invoke("stream", "--duration", "1.5")
    finally:
        demo_logged_in.call(faults.clear)
    assert first.exit_code == 1
    assert handshakes[0] == 1  # within the run, the retry waited for Retry-After
    (line,) = first.stderr.strip().splitlines()  # the problem once, as the error the run ends with
    assert line.startswith("Error: no stream: ")
    assert "retry in 30 s" in line
    second = invoke("stream", "--duration", "1")
    assert second.exit_code == 1
    assert handshakes[0] == 1  # the next run sent no handshake either
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: no stream: ")
    assert "not sent, cooling down after a 429" in last
    assert counting_down(seconds_left(last), 30, started)
    stored = json.loads((tmp_path / "cooldowns.json").read_text())
    assert any(counting_down(until - time.time(), 30, started) for until in stored.values())


# --- M4: the SSO's cooldown outlives the process too ----------------------------------------------


def test_an_sso_cooldown_left_by_another_command_is_honoured(demo_twin: ThreadedTwin, tmp_path: Path) -> None:
    assert demo_twin.cloud is not None
    host = demo_twin.cloud.sso["na"].split("//")[1].rstrip("/")
    started = time.time()
    (tmp_path / "cooldowns.json").write_text(json.dumps({host: started + 40}))
    line = one_line_error(invoke("login", "--email", DEMO1, "--password", "teslalink-demo-1"))
    assert "rate limited by Tesla's login server" in line
    assert counting_down(seconds_left(line), 40, started)
    assert "log in again" not in line
    assert demo_twin.call(lambda: demo_twin.world.auth.logins.failures(DEMO1)) == 0


# --- L6: logout of an entry without a token ---------------------------------------------------------


@pytest.mark.parametrize("access", [0, ""])
def test_logout_of_an_entry_without_a_token_succeeds(
    demo_twin: ThreadedTwin, tmp_path: Path, access: Any
) -> None:
    tokens = tmp_path / "tokens.json"
    other = {"url": "https://auth.tesla.com/", "sso": {"access_token": "x", "refresh_token": "y"}}
    tokens.write_text(
        json.dumps({DEMO1: {"url": "https://auth.tesla.com/", "sso": {"access_token": access}}, "o@x": other})
    )
    result = invoke("logout", "--email", DEMO1, "--keep-session")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Logged out {DEMO1}.\n"
    assert json.loads(tokens.read_text()) == {"o@x": other}


# --- issue 8, section 4: the passcode ---------------------------------------------------------------


def current_passcode(cloud: ThreadedTwin) -> str:
    secret = cloud.call(lambda: cloud.world.account(DEMO2).mfa_secret)
    return str(totp(secret, cloud.call(cloud.world.now)))


def test_a_wrong_passcode_is_sent_once_and_the_next_login_works(demo_twin: ThreadedTwin) -> None:
    wrong = str((int(current_passcode(demo_twin)) + 1) % 10**6).zfill(6)
    line = one_line_error(
        invoke("login", "--email", DEMO2, "--password", "teslalink-demo-2", "--passcode", wrong)
    )
    assert line == "Error: the passcode was refused: pass the current one from your authenticator app"
    assert demo_twin.call(lambda: demo_twin.world.auth.logins.failures(DEMO2)) == 1
    right = current_passcode(demo_twin)
    result = invoke("login", "--email", DEMO2, "--password", "teslalink-demo-2", "--passcode", right)
    assert result.exit_code == 0, result.output  # no captcha in the way


def test_a_reused_passcode_says_wait_for_the_next(demo_twin: ThreadedTwin) -> None:
    code = current_passcode(demo_twin)
    args = ("login", "--email", DEMO2, "--password", "teslalink-demo-2", "--passcode", code)
    assert invoke(*args).exit_code == 0
    line = one_line_error(invoke(*args))
    assert "this passcode was already used; wait for the next one" in line
    assert code not in line
