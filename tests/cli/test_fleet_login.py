"""`teslalink fleet login` against the served Fleet twin: headless, a code or redirect URL brought
in, the browser flow on a terminal (callback and paste), and the one-line errors without one.

The twin runs in the test's event loop; the command runs in a worker thread (CliRunner) or, on a
pseudo-terminal, in a child process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fleet_oauth_twin import DEMO1, DEMO2, HANG_GUARD_S, Twin, query_of, served_twin
from pty_terminal import Terminal, run_until_exit, wait_for
from teslalink.cli.fleet_login import PASSWORD_ENV, fleet_login

URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+/oauth2/v3/authorize\?\S+)")


@pytest.fixture
async def twin(tmp_path: Path) -> AsyncIterator[Twin]:
    async with served_twin(tmp_path, seed=47) as served:
        served.app.save(tmp_path / "fleet.json")
        yield served


def _files(twin: Twin) -> list[str]:
    assert twin.store.path is not None
    return ["--app-file", str(twin.store.path.parent / "fleet.json"), "--token-file", str(twin.store.path)]


async def invoke(twin: Twin, *args: str, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    command = [*args, *_files(twin)]
    return await asyncio.to_thread(runner.invoke, fleet_login, command, env=env, catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def _stored(twin: Twin) -> dict[str, dict[str, object]]:
    assert twin.store.path is not None
    return {who: entry["fleet"] for who, entry in json.loads(twin.store.path.read_text()).items()}


# --- headless -------------------------------------------------------------------------------------


async def test_headless_login_prints_who_region_and_scopes(twin: Twin) -> None:
    password = twin.password(DEMO2)
    result = await invoke(
        twin, "--headless", "--email", DEMO2, "--password", password, "--passcode", _code(twin)
    )
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith(
        f"Logged in to the Fleet API as {DEMO2} (region eu; scopes: openid, offline_access,"
    )
    stored = _stored(twin)[DEMO2]
    for secret in (password, stored["access_token"], stored["refresh_token"], twin.app.client_secret):
        assert str(secret) not in result.output


async def test_headless_json_with_the_password_from_the_environment(twin: Twin) -> None:
    env = {PASSWORD_ENV: twin.password(DEMO1)}
    result = await invoke(twin, "--headless", "--email", DEMO1, "--scope", "vehicle_cmds", "--json", env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["email"] == DEMO1
    assert data["logged_in"] is True
    assert data["region"] == "na"
    assert data["scopes"] == ["openid", "offline_access", "vehicle_cmds"]
    assert data["client_id"] == twin.app.client_id
    assert twin.password(DEMO1) not in result.output


async def test_the_twins_demo_app_from_the_environment_alone(twin: Twin, tmp_path: Path) -> None:
    """What `teslalink sim all --json` hands out: the app and the hosts as environment variables."""
    env = {
        "TESLALINK_FLEET_CLIENT_ID": twin.app.client_id,
        "TESLALINK_FLEET_CLIENT_SECRET": twin.app.client_secret,
        "TESLALINK_FLEET_REDIRECT_URI": twin.app.redirect_uri,
        "TESLALINK_FLEET_AUTH_URL": twin.urls.auth,
        **{f"TESLALINK_FLEET_API_URL_{region.upper()}": url for region, url in twin.urls.api.items()},
        PASSWORD_ENV: twin.password(DEMO1),
    }
    args = ["--headless", "--email", DEMO1, "--app-file", str(tmp_path / "none.json")]
    assert twin.store.path is not None
    args += ["--token-file", str(twin.store.path)]
    result = await asyncio.to_thread(CliRunner().invoke, fleet_login, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"as {DEMO1} (region na;" in result.stdout
    assert twin.app.client_secret not in result.output


async def test_a_wrong_password_is_one_line_without_it(twin: Twin) -> None:
    result = await invoke(twin, "--headless", "--email", DEMO1, "--password", "wrong-pass-4242")
    line = one_line_error(result)
    assert "wrong email, password or passcode" in line
    assert "wrong-pass-4242" not in result.output
    assert not twin.store.path or not twin.store.path.exists()


async def test_headless_without_a_terminal_needs_the_inputs(twin: Twin) -> None:
    assert "--password or set TESLALINK_FLEET_PASSWORD" in one_line_error(
        await invoke(twin, "--headless", "--email", DEMO1)
    )
    assert "--email" in one_line_error(await invoke(twin, "--headless"))


# --- a code or a redirect URL brought in ----------------------------------------------------------


async def test_a_redirect_url_or_a_code_brought_in(twin: Twin) -> None:
    location, _ = await twin.browser(twin.auth().authorize_url("from-elsewhere"), DEMO1, follow=False)
    result = await invoke(twin, "--redirect-url", location)
    assert result.exit_code == 0, result.output
    assert f"as {DEMO1} (region na;" in result.stdout
    location, _ = await twin.browser(twin.auth().authorize_url("again"), DEMO2, follow=False)
    code = query_of(location)["code"]
    result = await invoke(twin, "--code", code, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["email"] == DEMO2
    assert code not in result.output
    assert sorted(_stored(twin)) == [DEMO1, DEMO2]
    line = one_line_error(await invoke(twin, "--code", code))  # used already
    assert "invalid_auth_code" in line
    assert code not in line


async def test_without_a_terminal_the_browser_flow_is_one_clear_line(twin: Twin) -> None:
    line = one_line_error(await invoke(twin))
    assert "needs a browser and a terminal" in line
    assert "--redirect-url" in line
    assert "--code" in line


async def test_usage_errors_and_a_missing_app_file(twin: Twin, tmp_path: Path) -> None:
    result = await invoke(twin, "--code", "c", "--redirect-url", "http://x/?code=c")
    assert result.exit_code == 2
    runner = CliRunner()
    missing = tmp_path / "nowhere" / "fleet.json"
    result = await asyncio.to_thread(
        runner.invoke, fleet_login, ["--code", "NA_x", "--app-file", str(missing)], catch_exceptions=False
    )
    assert "teslalink fleet setup" in one_line_error(result)


# --- on a terminal: the browser flow --------------------------------------------------------------


def _on_terminal(twin: Twin, *args: str) -> Terminal:
    import fcntl
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    code = "from teslalink.cli.fleet_login import fleet_login; fleet_login()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--no-browser", *args, *_files(twin)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm"},
        start_new_session=True,
    )
    os.close(slave)
    return Terminal(200, 40, process, master)


async def _authorize_url_shown(terminal: Terminal) -> str:
    assert await asyncio.to_thread(wait_for, terminal, "oauth2/v3/authorize?", HANG_GUARD_S, "\n")
    found = URL_LINE.search(terminal.text())
    assert found is not None, terminal.text()
    return found.group(1)


async def _finished(terminal: Terminal) -> str:
    await asyncio.to_thread(run_until_exit, [terminal], HANG_GUARD_S * 2)
    assert terminal.close() == 0, terminal.text()
    return terminal.text()


async def test_on_a_terminal_the_browser_comes_back_to_the_callback(twin: Twin) -> None:
    terminal = _on_terminal(twin, "--timeout", "60")
    try:
        url = await _authorize_url_shown(terminal)
        _, page = await twin.browser(url, DEMO1)  # signs in; the redirect lands on the command's port
        assert "Signed in" in page
        output = await _finished(terminal)
    finally:
        terminal.process.kill()
    assert "Waiting up to 60 s for the browser" in output
    assert f"Logged in to the Fleet API as {DEMO1} (region na;" in output
    assert DEMO1 in _stored(twin)


async def test_on_a_terminal_the_redirect_url_can_be_pasted(twin: Twin) -> None:
    terminal = _on_terminal(twin, "--paste")
    try:
        url = await _authorize_url_shown(terminal)
        location, _ = await twin.browser(url, DEMO2, follow=False)
        assert await asyncio.to_thread(wait_for, terminal, "Paste the URL the browser ended on", HANG_GUARD_S)
        os.write(terminal.master, location.encode() + b"\r")
        output = await _finished(terminal)
    finally:
        terminal.process.kill()
    assert f"Logged in to the Fleet API as {DEMO2} (region eu;" in output


async def test_ctrl_c_at_the_paste_prompt_ends_the_command_at_once(twin: Twin) -> None:
    terminal = _on_terminal(twin, "--paste")
    try:
        await _authorize_url_shown(terminal)
        assert await asyncio.to_thread(wait_for, terminal, "Paste the URL the browser ended on", HANG_GUARD_S)
        terminal.process.send_signal(signal.SIGINT)  # Ctrl-C (the pty is not its controlling tty)
        await asyncio.to_thread(run_until_exit, [terminal], HANG_GUARD_S)
        assert terminal.process.poll() is not None, "still waiting after Ctrl-C"
        assert terminal.close() == 130
    finally:
        terminal.process.kill()


def _code(twin: Twin) -> str:
    from teslalink.simulator.sso.totp import totp

    secret = twin.world.account(DEMO2).mfa_secret
    assert secret is not None
    return totp(secret, twin.world.now())
