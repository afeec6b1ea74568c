"""The cloud commands against the twin's SSO and Owner API, served from a background thread."""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import click
import pytest
from click.testing import CliRunner, Result

from teslalink.cli.main import cli
from teslalink.simulator import ThreadedTwin
from teslalink.simulator.sso.totp import totp

DEMO1 = "demo1@teslalink.test"
DEMO2 = "demo2@teslalink.test"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


# --- login / logout -------------------------------------------------------------------------------


def test_login_headless_plain(demo_twin: ThreadedTwin, tmp_path: Path) -> None:
    result = invoke("login", "--email", DEMO1, "--password", "teslalink-demo-1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["email"] == DEMO1
    assert data["logged_in"] is True
    stored = json.loads((tmp_path / "tokens.json").read_text())
    assert DEMO1 in stored
    entry = stored[DEMO1]["sso"]
    for secret in ("teslalink-demo-1", entry["access_token"], entry["refresh_token"]):
        assert secret not in result.output


def test_login_with_mfa_passcode(demo_twin: ThreadedTwin) -> None:
    secret = demo_twin.accounts[1].totp_secret
    assert secret is not None
    code = demo_twin.call(lambda: totp(secret, demo_twin.world.now()))
    result = invoke("login", "--email", DEMO2, "--password", "teslalink-demo-2", "--passcode", code)
    assert result.exit_code == 0, result.output
    assert f"Logged in as {DEMO2}" in result.stdout
    assert code not in result.output


def test_login_mfa_without_passcode_and_no_terminal(demo_twin: ThreadedTwin) -> None:
    result = invoke("login", "--email", DEMO2, "--password", "teslalink-demo-2")
    assert "--passcode" in one_line_error(result)


def test_wrong_password_is_one_line_without_the_password(demo_twin: ThreadedTwin) -> None:
    result = invoke("login", "--email", DEMO1, "--password", "not-the-password-42")
    one_line_error(result)
    assert "not-the-password-42" not in result.output


def test_login_without_password_and_no_terminal_refuses(demo_twin: ThreadedTwin) -> None:
    assert "--password" in one_line_error(invoke("login", "--email", DEMO1))


def test_not_logged_in_is_one_line(demo_twin: ThreadedTwin) -> None:
    assert "teslalink login" in one_line_error(invoke("vehicles"))


def test_logout_removes_the_identity(demo_logged_in: ThreadedTwin, tmp_path: Path) -> None:
    result = invoke("logout", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"email": DEMO1, "logged_out": True}
    assert DEMO1 not in json.loads((tmp_path / "tokens.json").read_text())
    one_line_error(invoke("vehicles"))
    again = one_line_error(invoke("logout", "--email", DEMO1))
    assert again == f"Error: {DEMO1} is not logged in here (no tokens to forget)"


# --- vehicles -------------------------------------------------------------------------------------


def test_vehicles_table_and_json(demo_logged_in: ThreadedTwin) -> None:
    first, second = demo_logged_in.accounts[0].vehicles
    table = invoke("vehicles")
    assert table.exit_code == 0, table.output
    assert first.vin in table.stdout
    assert "asleep" in table.stdout
    rows = json.loads(invoke("vehicles", "--json", "--email", DEMO1).stdout)
    assert [(r["vin"], r["id"], r["state"]) for r in rows] == [
        (first.vin, first.id_s, "online"),
        (second.vin, second.id_s, "asleep"),
    ]


def test_vehicle_data_json_with_endpoints(demo_logged_in: ThreadedTwin) -> None:
    result = invoke("vehicle", "data", "--json", "--endpoints", "charge_state,climate_state")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["charge_state"]["charging_state"] in ("Starting", "Charging")
    assert "climate_state" in data
    assert "drive_state" not in data
    table = invoke("vehicle", "data")
    assert table.exit_code == 0, table.output
    assert "battery %" in table.stdout


def test_unknown_vehicle_is_one_line(demo_logged_in: ThreadedTwin) -> None:
    assert "no car" in one_line_error(invoke("vehicle", "data", "--vehicle", "nope"))


def test_a_sleeping_car_is_unavailable_then_woken_with_progress(demo_logged_in: ThreadedTwin) -> None:
    sleeper = demo_logged_in.accounts[0].vehicles[1]
    line = one_line_error(invoke("vehicle", "data", "--vehicle", sleeper.vin))
    assert line == (
        f"Error: {sleeper.display_name} is asleep or offline; "
        f"`teslalink wake --vehicle {sleeper.vin}` wakes it, then try again"
    )
    with demo_logged_in.advancing(3, 0.02):
        result = invoke("wake", "--vehicle", sleeper.display_name, "--interval", "0.05", "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert (row["vin"], row["state"]) == (sleeper.vin, "online")
    assert "waking: asleep after 0 s" in result.stderr
    data = invoke("vehicle", "data", "--json", "--vehicle", sleeper.id_s)
    assert data.exit_code == 0, data.output


# --- commands -------------------------------------------------------------------------------------


def car_state(demo_twin: ThreadedTwin) -> dict[str, Any]:
    result = invoke("vehicle", "data", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_charge_limit_and_amps(demo_logged_in: ThreadedTwin) -> None:
    assert invoke("charge", "limit", "85").exit_code == 0
    result = invoke("charge", "amps", "16", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] is True
    charge = car_state(demo_logged_in)["charge_state"]
    assert charge["charge_limit_soc"] == 85
    assert charge["charge_current_request"] == 16


def test_climate_on_and_lock(demo_logged_in: ThreadedTwin) -> None:
    result = invoke("climate", "on")
    assert result.exit_code == 0, result.output
    assert "climate on done" in result.stdout
    assert invoke("lock").exit_code == 0
    data = car_state(demo_logged_in)
    assert data["climate_state"]["is_climate_on"] is True
    assert data["vehicle_state"]["locked"] is True


def test_unlock_needs_yes_without_a_terminal(demo_logged_in: ThreadedTwin) -> None:
    assert invoke("lock").exit_code == 0
    assert "--yes" in one_line_error(invoke("unlock"))
    assert car_state(demo_logged_in)["vehicle_state"]["locked"] is True
    assert invoke("unlock", "--yes").exit_code == 0
    assert car_state(demo_logged_in)["vehicle_state"]["locked"] is False


def test_speed_limit_sequence(demo_logged_in: ThreadedTwin) -> None:
    for args in (("set", "65"), ("activate", "1234"), ("deactivate", "1234"), ("activate", "1234")):
        result = invoke("speed-limit", *args)
        assert result.exit_code == 0, (args, result.output)
        assert "1234" not in result.output
    mode = car_state(demo_logged_in)["vehicle_state"]["speed_limit_mode"]
    assert mode["active"] is True
    assert mode["current_limit_mph"] == 65
    assert invoke("speed-limit", "deactivate", "1234").exit_code == 0
    assert invoke("speed-limit", "clear-pin", "1234").exit_code == 0
    assert car_state(demo_logged_in)["vehicle_state"]["speed_limit_mode"]["pin_code_set"] is False


def test_command_with_params_and_a_failing_reason(demo_logged_in: ThreadedTwin) -> None:
    ok = invoke("command", "CHANGE_CHARGE_LIMIT", "percent=70", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["command"] == "CHANGE_CHARGE_LIMIT"
    again = invoke("command", "CHANGE_CHARGE_LIMIT", "percent=70")
    assert again.exit_code == 0, again.output  # already so: a success
    assert "already so (the car says already_set)" in again.stdout
    line = one_line_error(invoke("command", "CHANGE_CHARGE_LIMIT", "percent=150"))
    assert (
        line == "Error: CHANGE_CHARGE_LIMIT: refused by the car: invalid_value"
        " (a value is missing, malformed or out of range)"
    )


@pytest.mark.parametrize("via", ["command", "api"])
def test_risky_commands_ask_first_by_any_route(demo_logged_in: ThreadedTwin, via: str) -> None:
    for args in (
        ["UNLOCK"],
        ["REMOTE_START"],
        ["set_valet_mode", "on=false"],
        ["SET_VALET_MODE", "on=0", "password=4321"],
        ["SET_VALET_MODE", "on=off"],
        ["TRIGGER_HOMELINK", "lat=37.4", "lon=-122.1"],
    ):
        assert "--yes" in one_line_error(invoke(via, *args)), args
    assert car_state(demo_logged_in)["vehicle_state"]["locked"] is True
    result = invoke(via, "UNLOCK", "--yes")
    assert result.exit_code == 0, result.output
    assert car_state(demo_logged_in)["vehicle_state"]["locked"] is False
    assert invoke(via, "SET_VALET_MODE", "on=true", "password=4321").exit_code == 0  # turning it on: no ask


def test_a_429_is_one_line_with_the_wait(demo_logged_in: ThreadedTwin) -> None:
    """In a real process: under pytest, its log capture would hide a library warning on stderr."""
    assert demo_logged_in.cloud is not None
    faults = demo_logged_in.cloud.faults
    demo_logged_in.call(lambda: faults.set("owner_api", "429=1,retry_after=30"))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "teslalink", "vehicles"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        demo_logged_in.call(faults.clear)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["Error: HTTP 429: GET /api/1/products: Retry in 30 seconds"]


def test_a_429_cooldown_outlives_the_process(demo_logged_in: ThreadedTwin, tmp_path: Path) -> None:
    assert demo_logged_in.cloud is not None
    faults = demo_logged_in.cloud.faults
    demo_logged_in.call(lambda: faults.set("owner_api", "429=1,retry_after=30"))
    before = time.time()
    try:
        assert "429" in one_line_error(invoke("vehicles"))
    finally:
        demo_logged_in.call(faults.clear)
    after = time.time()
    billed = demo_logged_in.call(lambda: sum(demo_logged_in.world.accounting.totals.values()))
    line = one_line_error(
        invoke("vehicles")
    )  # the next command: the twin would answer, but must not be asked
    assert "not sent, cooling down after a 429" in line
    assert demo_logged_in.call(lambda: sum(demo_logged_in.world.accounting.totals.values())) == billed
    cooldowns = tmp_path / "cooldowns.json"
    (until,) = json.loads(cooldowns.read_text()).values()
    assert before + 30 - 1 <= until <= after + 30 + 1  # 30 s from the answer, however slow the run
    cooldowns.write_text(json.dumps({host: time.time() - 1 for host in json.loads(cooldowns.read_text())}))
    assert invoke("vehicles").exit_code == 0  # over: asked again, and the file forgets it
    assert json.loads(cooldowns.read_text()) == {}
    cooldowns.write_text("{not json")  # a damaged cache is no error
    assert invoke("vehicles").exit_code == 0


def test_bad_argument_is_one_line(demo_logged_in: ThreadedTwin) -> None:
    assert "percent" in one_line_error(invoke("command", "CHANGE_CHARGE_LIMIT", "percent"))


# --- energy and api -------------------------------------------------------------------------------


def test_energy_status_reserve_and_mode(demo_logged_in: ThreadedTwin) -> None:
    assert invoke("energy", "reserve", "40").exit_code == 0
    result = invoke("energy", "mode", "backup", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(invoke("energy", "status", "--json").stdout)
    assert status["backup_reserve_percent"] == 40
    assert status["operation_mode"] == "backup"
    assert status["site_name"] == "Demo Home 1.1"
    table = invoke("energy", "status")
    assert "Solar" in table.stdout
    assert "kW" in table.stdout
    history = invoke("energy", "history", "--json")
    assert history.exit_code == 0, history.output
    assert "history" in json.loads(history.stdout)


def test_energy_storm_grid_and_tariff(demo_logged_in: ThreadedTwin, tmp_path: Path) -> None:
    settings = demo_logged_in.world.energy_sites[0].settings
    assert invoke("energy", "storm", "on").exit_code == 0
    assert demo_logged_in.call(lambda: settings.storm_mode_enabled) is True
    result = invoke("energy", "grid", "--export", "never", "--no-grid-charging", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["customer_preferred_export_rule"] == "never"
    assert demo_logged_in.call(lambda: settings.customer_preferred_export_rule) == "never"
    assert demo_logged_in.call(lambda: settings.disallow_charge_from_grid_with_solar_installed) is True
    assert "export never" in invoke("energy", "grid").stdout  # no option: the rules in force
    printed = json.loads(invoke("energy", "tariff", "--json").stdout)
    printed["tariff"]["name"] = "Night saver"
    edited = tmp_path / "tariff.json"
    edited.write_text(json.dumps(printed))  # what the command printed, edited, goes back as is
    result = invoke("energy", "tariff", "--set", str(edited), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tariff"]["name"] == "Night saver"
    edited.write_text("{broken")
    assert "not JSON" in one_line_error(invoke("energy", "tariff", "--set", str(edited)))
    assert json.loads(invoke("energy", "tariff", "--json").stdout)["tariff"]["name"] == "Night saver"


def test_api_name_with_params(demo_logged_in: ThreadedTwin) -> None:
    result = invoke("api", "CHANGE_CHARGE_LIMIT", "percent=77")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] is True
    assert car_state(demo_logged_in)["charge_state"]["charge_limit_soc"] == 77
    products = json.loads(invoke("api", "PRODUCT_LIST").stdout)
    assert any("energy_site_id" in p for p in products)
    assert "unknown endpoint" in one_line_error(invoke("api", "NO_SUCH_THING"))


def test_login_with_a_refresh_token(demo_logged_in: ThreadedTwin, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    refresh = json.loads(path.read_text())[DEMO1]["sso"]["refresh_token"]
    path.unlink()
    result = invoke("login", "--email", DEMO1, "--refresh-token", refresh)
    assert result.exit_code == 0, result.output
    assert refresh not in result.output
    assert invoke("vehicles").exit_code == 0


def test_prompts_on_a_terminal_never_echo_the_password(
    demo_twin: ThreadedTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("teslalink.cli.cloud_auth.is_interactive", lambda: True)
    result = CliRunner().invoke(cli, ["login"], input=f"{DEMO1}\nteslalink-demo-1\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert "teslalink-demo-1" not in result.output


class _CaptchaReader(io.RawIOBase):
    """Standard input of a person who opens the captcha file the login names and types what it shows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: list[Path] = []
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pending:
            (image,) = self.folder.glob("teslalink-captcha-*.svg")  # exists while the prompt waits
            self.seen.append(image)
            assert image.stat().st_mode & 0o777 == 0o600
            self.pending = (
                "".join(re.findall(r"<text[^>]*>([^<]*)</text>", image.read_text())).encode() + b"\n"
            )
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


def test_a_captcha_is_shown_as_a_private_file_and_asked_for(
    demo_twin: ThreadedTwin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr("teslalink.cli.cloud_auth.is_interactive", lambda: True)
    logins = demo_twin.world.auth.logins
    demo_twin.call(lambda: setattr(logins, "policy", type(logins.policy)(always_captcha=True)))
    person = _CaptchaReader(folder)
    result = CliRunner().invoke(
        cli, ["login", "--email", DEMO1, "--password", "teslalink-demo-1"], input=io.BufferedReader(person)
    )
    assert result.exit_code == 0, result.output
    assert "captcha" in result.output
    assert "Logged in as" in result.output
    assert len(person.seen) == 1
    assert str(person.seen[0]) in result.output
    assert list(folder.iterdir()) == []  # removed once answered
    assert invoke("vehicles").exit_code == 0


def test_a_captcha_without_a_terminal_is_one_clear_line(demo_twin: ThreadedTwin) -> None:
    logins = demo_twin.world.auth.logins
    demo_twin.call(lambda: setattr(logins, "policy", type(logins.policy)(always_captcha=True)))
    message = one_line_error(invoke("login", "--email", DEMO1, "--password", "teslalink-demo-1"))
    assert "captcha" in message
    assert "--browser" in message


def test_email_from_env_and_several_accounts(
    demo_logged_in: ThreadedTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = demo_logged_in.call(
        lambda: totp(demo_logged_in.accounts[1].totp_secret or "", demo_logged_in.world.now())
    )
    assert (
        invoke("login", "--email", DEMO2, "--password", "teslalink-demo-2", "--passcode", code).exit_code == 0
    )
    assert "--email" in one_line_error(invoke("vehicles"))
    monkeypatch.setenv("TESLALINK_EMAIL", DEMO2)
    rows = json.loads(invoke("vehicles", "--json").stdout)
    assert [r["vin"] for r in rows] == [v.vin for v in demo_logged_in.accounts[1].vehicles]


def _browser_sign_in(url: str, email: str, password: str) -> str:
    """What a person does in the browser (on its own thread and loop); returns where it ends."""

    async def go() -> str:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(url) as resp:
                page_url, html = str(resp.url), await resp.text()
            action = re.search(r'<form[^>]*action="([^"]*)"', html)
            assert action is not None
            fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', html))
            fields.update(identity=email, credential=password)
            target = urljoin(page_url, action.group(1).replace("&amp;", "&"))
            async with session.post(target, data=fields, allow_redirects=False) as resp:
                assert resp.status == 302
                return resp.headers["Location"]

    found: list[str] = []
    thread = threading.Thread(target=lambda: found.append(asyncio.run(go())))
    thread.start()
    thread.join(10)
    return found[0]


def test_browser_login_on_a_terminal(demo_twin: ThreadedTwin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("teslalink.cli.cloud_auth.is_interactive", lambda: True)
    shown: list[str] = []

    def prompt(text: str, **kwargs: Any) -> str:
        assert text.startswith("Paste the URL")
        url = next(line for line in shown if line.startswith("http"))
        return _browser_sign_in(url, DEMO1, "teslalink-demo-1")

    monkeypatch.setattr("teslalink.cli.cloud_auth.click.prompt", prompt)
    real_echo = click.echo

    def echo(message: Any = None, **kwargs: Any) -> None:
        shown.extend(str(message).splitlines())
        real_echo(message, **kwargs)

    monkeypatch.setattr("teslalink.cli.cloud_auth.click.echo", echo)
    result = invoke("login", "--email", DEMO1, "--browser")
    assert result.exit_code == 0, result.output
    assert "Open this URL" in result.stdout
    assert invoke("vehicles").exit_code == 0


def test_browser_login_needs_a_terminal(demo_twin: ThreadedTwin) -> None:
    assert "terminal" in one_line_error(invoke("login", "--email", DEMO1, "--browser"))
